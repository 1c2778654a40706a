/* SPDX-License-Identifier: MIT */
/*
 * Offline driver: runs a tgrec recording through its venue handler in-process, without
 * sockets, as fast as possible. Used by `tickgate-replay books`, the golden tests and the
 * benchmarks. In-band REST snapshots of the recording reach the handler as frames (the
 * handlers recognise the tgrec `@depthSnapshot` wrapping), so no REST request is made.
 * Thread: the caller's (one driver per thread).
 */
#ifndef FEED_OFFLINE_H
#define FEED_OFFLINE_H

#include "feeds/feed.h"
#include "feeds/rec/feed_tgrec.h"

typedef struct feed_offline {
    /* read-only after open */
    feed_tgrec_t *rec;
    const feed_venue_t *venue;
    tg_instr_reg_t *reg; /* the registry used (owned when the caller passed NULL) */
    feed_handler_t h;
    feed_stats_t stats;
    uint64_t bad_lines;    /* data lines that are not "<ts> <frame>" */
    uint64_t sent;         /* frames the handler asked to send (not sent offline) */
    uint64_t rest_gets;    /* REST requests the handler made (answered in-band offline) */
    uint64_t reconnects;   /* reconnects the handler asked for */
    uint64_t rest_answers; /* captured REST answers given to venue->on_rest (feed_capture) */
    /* private */
    int own_reg;
    tg_event_t *buf;
    struct feed_offline_req *reqs; /* REST requests not answered yet (path, tag) */
    uint32_t n_reqs, cap_reqs;
} feed_offline_t;

/**
 * Open a recording and prepare its handler.
 * @param path   tgrec file (plain or .zst).
 * @param venue  Venue name, or NULL to take it from the file's `# venue:` header.
 * @param reg    Registry to add the file's symbols to (before any thread starts), or NULL to
 *               create a private one.
 * @param depth  Subscribed book depth; 0 = take `"depth":N` from the recorded subscribe
 *               messages if present, else the venue default.
 * @return 0; -ENOENT/-errno (file), TG_EPROTO (not tgrec), TG_ECONFIG (unknown venue),
 *         -ENOMEM.
 */
int feed_offline_open(feed_offline_t **out, const char *path, const char *venue,
                      tg_instr_reg_t *reg, uint32_t depth);

/**
 * As feed_offline_open() but reads the recording as a stream (feed_tgrec_open_stream): one
 * pass in constant memory, frames valid only during the handler call. Only the header is
 * read here, so an unknown venue (TG_ECONFIG) is found before any data is read.
 * o->rec->data_lines counts the lines read so far. @return as feed_offline_open().
 */
int feed_offline_open_stream(feed_offline_t **out, const char *path, const char *venue,
                             tg_instr_reg_t *reg, uint32_t depth);

/** As feed_offline_open() but from a tgrec text in memory (copied), e.g. a mutated copy of a
 *  recording built by a test.  @return as feed_offline_open(). */
int feed_offline_open_mem(feed_offline_t **out, const char *text, size_t len, const char *venue,
                          tg_instr_reg_t *reg, uint32_t depth);

/**
 * Feed every remaining frame to the handler; events go to sink in batches (end of each frame
 * at the latest). Receive times are the recording's. Bad lines are counted (bad_lines).
 * @return 0, the sink's error, or (stream) a read error / -EBADMSG (corrupt or truncated
 *         zstd data: the frames before it were processed).
 */
int feed_offline_run(feed_offline_t *o, int (*sink)(void *ctx, const tg_event_t *ev, uint32_t n),
                     void *ctx);

/** Set the log callback of the handler (default: none). */
void feed_offline_set_log(feed_offline_t *o, tg_log_fn log, void *lctx);

/** Start again from the first frame with a fresh handler state (for benchmarks). */
int feed_offline_rewind(feed_offline_t *o);

void feed_offline_close(feed_offline_t **o);

#endif
