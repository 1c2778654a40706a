/* SPDX-License-Identifier: MIT */
/*
 * Raw capture of received websocket frames into rotating zstd-compressed tgrec v1 files (the
 * format of ../shared/recordings, readable by feed_tgrec.h): header lines (venue, url,
 * symbols, the texts sent on the connection), then "<recv_ts_ns> <frame>" lines.
 *
 * One capture belongs to one connection. A new file starts at every (re)connection (a tgrec
 * file is one websocket session), and when the current file exceeds max_bytes of plain text
 * or max_secs of age (the header, with the sent lines, is repeated in the new file).
 *
 * Cost on the feed thread is bounded: a frame is appended to an input buffer (memcpy); every
 * `chunk` bytes the buffer is compressed in one step (ZSTD_compressStream2) and written. A
 * frame containing CR/LF (impossible in a tgrec line) has them replaced by spaces (JSON
 * whitespace; counted in `altered`). REST answers delivered to the handler can be captured as
 * generated lines (feed_capture_rest()).
 *
 * Thread: the owning feed thread for everything except feed_capture_stats() (any).
 */
#ifndef FEED_CAPTURE_H
#define FEED_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "book/tg_log.h"
#include "book/tg_stat.h"

typedef struct feed_capture feed_capture_t;

typedef struct feed_capture_cfg {
    const char *dir;    /* existing output directory; required */
    const char *prefix; /* file name prefix; default "capture" */
    uint64_t max_bytes; /* rotate after this many plain-text bytes; default 256 MiB (0 = off) */
    uint32_t max_secs;  /* rotate after this many seconds; default 3600 (0 = off) */
    int level;          /* zstd level; default 3 */
    uint32_t chunk;     /* plain bytes buffered per compression step; default 256 KiB */
    tg_log_fn log; /* may be NULL */
    void *log_ctx;
} feed_capture_cfg_t;

/** Counters. Single writer (feed thread), any reader. */
typedef struct feed_capture_stats {
    tg_stat_t files;     /* files started */
    tg_stat_t frames;    /* data lines written */
    tg_stat_t bytes_in;  /* plain bytes */
    tg_stat_t bytes_out; /* compressed bytes written */
    tg_stat_t altered;   /* frames whose CR/LF were replaced */
    tg_stat_t sent_late; /* sent texts after the header was written (not recorded) */
    tg_stat_t errors;    /* I/O or compression errors (capture disabled until next file) */
} feed_capture_stats_t;

void feed_capture_cfg_defaults(feed_capture_cfg_t *c);

/** @return 0, -EINVAL (no dir), -ENOMEM.  Thread: main. */
int feed_capture_create(feed_capture_t **out, const feed_capture_cfg_t *cfg);

/** Finish the current file and free. NULL-safe; sets *c = NULL.  Thread: owner. */
void feed_capture_destroy(feed_capture_t **c);

/**
 * A connection (re)opened: finish the current file; the next frame opens a new one with this
 * header. Strings are copied. @return 0 or -ENOMEM.  Thread: owner.
 */
int feed_capture_begin(feed_capture_t *c, const char *venue, const char *url, const char *symbols);

/** Record a text sent on the connection ("# sent:" header line). @return 0, -ENOSPC (more
 *  than 64 or after the header was written: counted in sent_late).  Thread: owner. */
int feed_capture_sent(feed_capture_t *c, const char *text, size_t len);

/** Record one received frame. @return 0 or a negative code (counted in errors).  Thread: owner. */
int feed_capture_frame(feed_capture_t *c, int64_t ts_recv, const char *buf, size_t len);

/** Record a REST answer as a generated line
 *  {"rest":"<path>","tag":N,"status":S,"generated":true,"data":<body>} (body verbatim when it
 *  is non-empty, else null).  Thread: owner. */
int feed_capture_rest(feed_capture_t *c, int64_t ts_recv, const char *path, uint64_t tag,
                      int status, const char *body, size_t len);

/** Finish the current file (compress the rest, end the zstd frame, close). @return 0 or the
 *  first I/O error.  Thread: owner. */
int feed_capture_finish(feed_capture_t *c);

/** Path of the current (or last) file; "" if none.  Thread: owner. */
const char *feed_capture_path(const feed_capture_t *c);

/** Counters.  Thread: any. */
const feed_capture_stats_t *feed_capture_stats(const feed_capture_t *c);

#endif
