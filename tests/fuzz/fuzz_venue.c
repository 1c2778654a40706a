/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: one venue handler (TG_FUZZ_VENUE=<id>, any id of `tickgate --list-venues`;
 * the regression runner selects it per corpus subdirectory; TG_FUZZ_LIST=1 prints the ids). The
 * input is a run of frames, one per line, delivered through the venue base exactly as the transport
 * and the offline driver deliver them (feed_frame, then feed_flush) to a fresh handler opened on
 * the venue's symbols (on_open run, sends and REST requests swallowed). Several lines let the
 * fuzzer reach the sync states (snapshot, then deltas, gaps, checksums).
 *
 * Properties checked after every frame (besides ASan/UBSan): the frame is counted exactly once
 * (frames + 1; handled + unhandled + errors + 1; errors + 1 exactly when the handler returned
 * an error) and the last event it emitted carries TG_EVF_LAST; every event has a known kind, a
 * registered instrument and scales stamped within 0..18 (fuzz_feed.c).
 */
#include <string.h>

#include "fuzz_feed.h"

int fz_subdir(const char *name)
{
    return fz_feed_select(name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_feed_list(NULL);
    fz_feed_select_env("binance");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_sink_t s;
    feed_offline_t *o = fz_feed_open(&s);
    int64_t ts = 1700000000000000000;
    fz_feed_lines(o, &s, (const char *)data, (const char *)data + size, 0, &ts);
    fz_feed_done();
    return 0;
}
