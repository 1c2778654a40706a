/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve --live-snapshots (tool_replay_live.c): Binance REST depth snapshots as
 * of the stream position, instead of the one snapshot recorded in-band.
 * Thread: main.
 */
#ifndef TOOL_REPLAY_LIVE_H
#define TOOL_REPLAY_LIVE_H

#include <stddef.h>

#include "tool_replay_serve.h"

/** Index every Binance recording of the server: per symbol with a recorded snapshot, its
 *  depth diffs and a checkpoint book every TOOL_REPLAY_LIVE_K applied diffs.
 *  @return 0, -ENOMEM. */
int tool_replay__live_build(void);
void tool_replay__live_free(void);
/** A websocket session opened (ESTABLISHED) or closed (CLOSED): the sessions whose positions
 *  answer snapshot requests. */
void tool_replay__live_track(sess_t *s);
void tool_replay__live_untrack(sess_t *s);
/**
 * The REST depth body for `sym` (as requested, any case, with its --clone suffix) of rec,
 * whose recorded snapshot is snap: the recorded book advanced by the diffs of the frames
 * already sent to the newest connection serving that symbol (else the furthest published
 * position). args: the request's query ("symbol=X&limit=N").
 * @param body malloc'd, NUL-terminated, owned by the caller.
 * @return 0; 1 when the recorded body is the answer (not a Binance recording, or no diff
 *         applied yet); -ENOMEM.
 */
int tool_replay__live_body(const tool_replay_rec_t *rec, const tool_replay_snap_t *snap,
                           const char *sym, const char *args, char **body, size_t *len);

#endif
