/* SPDX-License-Identifier: MIT */
/*
 * Reader of tgrec v1 recordings (../shared/recordings/README.md): header lines "# key: value",
 * then "<recv_ts_ns> <frame>" lines. Plain or zstd-compressed (.zst). The whole file is
 * decompressed into memory once; frames are returned as views into it (no copy).
 * Thread: any (one reader per thread).
 */
#ifndef FEED_TGREC_H
#define FEED_TGREC_H

#include <stddef.h>
#include <stdint.h>

#define FEED_TGREC_SENT_MAX 64

typedef struct feed_tgrec {
    /* read-only after open */
    char venue[32];
    char url[512];
    char symbols[4096];                    /* comma list as in the header */
    const char *sent[FEED_TGREC_SENT_MAX]; /* "# sent:" texts, NUL-terminated */
    size_t n_sent;
    size_t data_lines; /* counted at open */
    /* private */
    char *buf;
    size_t len;
    size_t pos;      /* offset of the next data line */
    size_t data_off; /* offset of the first data line */
    size_t line_no;
} feed_tgrec_t;

/** Open and load a recording. @return 0, -errno, or TG_EPROTO (not tgrec v1). */
int feed_tgrec_open(feed_tgrec_t **out, const char *path);
/** Load from memory (copied). */
int feed_tgrec_open_mem(feed_tgrec_t **out, const char *text, size_t len);
void feed_tgrec_close(feed_tgrec_t **r);

/**
 * Next data line. *frame points into the reader's memory (valid until close); the frame is
 * followed by a NUL (the line end is replaced).
 * @return 1 (a line), 0 (end), TG_EPROTO (bad line: *frame/len give the raw line; reading
 *         can go on).
 */
int feed_tgrec_next(feed_tgrec_t *r, int64_t *ts_ns, const char **frame, size_t *len);

/** Start again at the first data line. */
void feed_tgrec_rewind(feed_tgrec_t *r);

/** Is the frame a generated (non-websocket) record, e.g. an in-band REST snapshot? */
int feed_tgrec_is_generated(const char *frame, size_t len);

#endif
