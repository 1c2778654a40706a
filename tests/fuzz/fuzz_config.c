/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the gateway's config parser (gateway/gw_config.c over libinih), as
 * `tickgate --config FILE` and `--check-config` read it. The input is the file's text.
 * Checked besides ASan/UBSan: the result agrees with the error list (0 with no error,
 * TG_ECONFIG with at least one, each "FILE:LINE: message" naming the file); a valid config's
 * feeds name a venue this build has, carry symbols, and their split parts are in range; the
 * first line also goes through gw_cfg_parse_duration (a value it accepts is positive).
 */
#include <string.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "feeds/feed.h"
#include "fuzz_common.h"
#include "gateway/gw_config.h"

static gw_cfg_t fz_cfg; /* large (the sinks' settings): static */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fz_memfd("tickgate.ini", data, size);
    FZ_CHECK(fd >= 0, "memfd");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rc = gw_cfg_load(&fz_cfg, path);
    FZ_CHECK(rc == 0 || rc == TG_ECONFIG, "gw_cfg_load: %d", rc);
    FZ_CHECK((rc == 0) == (fz_cfg.n_errors == 0), "rc %d with %u errors", rc, fz_cfg.n_errors);
    FZ_CHECK(fz_cfg.n_errors <= GW_CFG_ERR_MAX, "%u errors", fz_cfg.n_errors);
    for (uint32_t i = 0; i < fz_cfg.n_errors; i++)
        FZ_CHECK(fz_cfg.errors[i] && !strncmp(fz_cfg.errors[i], path, strlen(path)),
                 "error %u: '%s'", i, fz_cfg.errors[i] ? fz_cfg.errors[i] : "(null)");
    if (rc == 0)
        for (uint32_t i = 0; i < fz_cfg.n_feeds; i++) {
            const gw_feed_cfg_t *f = &fz_cfg.feeds[i];
            FZ_CHECK(feed_venue_find(f->venue) != NULL, "feed %s: venue '%s'", f->name, f->venue);
            FZ_CHECK(f->n_symbols > 0 && f->symbols, "feed %s: no symbols", f->name);
            for (uint32_t k = 0; k < f->n_symbols; k++)
                FZ_CHECK(f->symbols[k] && f->symbols[k][0], "feed %s: symbol %u empty", f->name, k);
            FZ_CHECK(f->parts == 0 || (f->part >= 1 && f->part <= f->parts),
                     "feed %s: part %u of %u", f->name, f->part, f->parts);
        }
    gw_cfg_free(&fz_cfg);
    close(fd);

    char line[128];
    size_t n = 0;
    while (n < size && n + 1 < sizeof(line) && data[n] != '\n' && data[n] != '\0') {
        line[n] = (char)data[n];
        n++;
    }
    line[n] = '\0';
    int64_t ns = 0;
    if (gw_cfg_parse_duration(line, &ns) == 0)
        FZ_CHECK(ns > 0, "duration '%s' -> %lld ns", line, (long long)ns);
    return 0;
}
