/* SPDX-License-Identifier: MIT */
/*
 * Venue handler fuzzing support shared by fuzz_venue.c (frames) and fuzz_rest.c (REST
 * answers): a fresh handler for the selected venue through the offline driver, a checking sink
 * and a frame delivery that checks the counting contract of feeds/feed.h.
 * Thread: one.
 */
#ifndef TEST_FUZZ_FEED_H
#define TEST_FUZZ_FEED_H

#include "feeds/feed.h"
#include "feeds/rec/feed_offline.h"
#include "fuzz_common.h"

#define FZ_MAX_REQS 64

/** Sink state; also the REST requests the handler made (tags, in order). */
typedef struct fz_sink {
    const tg_instr_reg_t *reg;
    uint64_t events;
    int in_msg; /* events since the last TG_EVF_LAST */
    uint64_t tags[FZ_MAX_REQS];
    int n_tags;
} fz_sink_t;

/** The selected venue id (fz_feed_select). */
extern const char *fz_feed_name;

/** Select a venue id. Returns 0, or -1 when unknown (or without a symbol list). */
int fz_feed_select(const char *name);

/** Select the venue of $TG_FUZZ_VENUE (default: dflt); exits 2 when unknown. */
void fz_feed_select_env(const char *dflt);

/** The selected venue's handler writing into s, as after a connect: the handler of the
 *  previous input reconnected (on_close, then on_open), or a new one for the first input, a
 *  change of venue, or always with TG_FUZZ_FRESH set (slower: a new handler costs up to a few
 *  ms under ASan for venues with large state). Give it back with fz_feed_done(). */
feed_offline_t *fz_feed_open(fz_sink_t *s);

/** A line that is no frame: the connection closes and opens again there (on_close, on_open),
 *  as after a drop; a handler that backfills trades then asks for the range it missed. */
#define FZ_RECONNECT "#reconnect"

/** Deliver the lines of [p, end) as frames (fz_feed_frame), 100 ms apart from *ts on; a line
 *  FZ_RECONNECT reconnects instead. With keep_last, the text after the last '\n' is not
 *  delivered. Returns where the undelivered text starts (end when every line was delivered). */
const char *fz_feed_lines(feed_offline_t *o, fz_sink_t *s, const char *p, const char *end,
                          int keep_last, int64_t *ts);

/** With TG_FUZZ_LIST set: print the ids of the venues keep() accepts (every id of
 *  `tickgate --list-venues` when keep is NULL) and exit 0; else return. */
void fz_feed_list(int (*keep)(const feed_venue_t *v));

/** End of an input: closes the handler with TG_FUZZ_FRESH, else keeps it for the next. */
void fz_feed_done(void);

/** Deliver one frame (copied to a buffer of exactly len bytes) and check it was counted once
 *  and ended its message. Returns the handler's rc. */
int fz_feed_frame(feed_offline_t *o, fz_sink_t *s, const char *frame, size_t len, int64_t ts);

#endif
