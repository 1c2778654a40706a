/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the tgrec reader (feeds/rec/feed_tgrec.c). The input is a recording's text.
 * It is read four ways, which must agree line by line (rc, timestamp, frame bytes) and on the
 * header (venue, url, symbols, sent lines): whole from memory (feed_tgrec_open_mem), whole from
 * a file (feed_tgrec_open), streamed through a 64-byte window that must grow for long lines
 * (feed_tgrec_open_stream), and the same text zstd-compressed and streamed (the decompression
 * thread). An input that is itself zstd data is read from the file both ways (no comparison
 * with the in-memory reader, which takes text only).
 */
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "book/tg_err.h"
#include "feeds/rec/feed_tgrec.h"
#include "fuzz_common.h"

typedef struct fz_line {
    int rc;
    int64_t ts;
    const char *f;
    size_t len;
} fz_line_t;

#define FZ_MAX_LINES 4096

/* Read every line of r into out (at most FZ_MAX_LINES); frames copied when copy (stream). */
static size_t read_all(feed_tgrec_t *r, fz_line_t *out, int copy)
{
    size_t n = 0;
    for (;;) {
        fz_line_t l = {0};
        l.rc = feed_tgrec_next(r, &l.ts, &l.f, &l.len);
        if (l.rc == 0 || n == FZ_MAX_LINES)
            break;
        if (l.rc == 1 || l.rc == TG_EPROTO) {
            FZ_CHECK(l.f != NULL, "frame NULL with rc %d", l.rc);
            FZ_CHECK(l.f[l.len] == '\0', "frame of %zu bytes not NUL-terminated", l.len);
        } else {
            l.f = NULL;
            l.len = 0;
        }
        if (copy && l.f) {
            char *c = malloc(l.len + 1);
            memcpy(c, l.f, l.len + 1);
            l.f = c;
        }
        out[n++] = l;
        if (l.rc < 0 && l.rc != TG_EPROTO)
            break; /* read / zstd error: reported once */
    }
    return n;
}

static void free_lines(fz_line_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)l[i].f);
}

static void same(const char *what, const feed_tgrec_t *ra, const fz_line_t *a, size_t na,
                 const feed_tgrec_t *rb, const fz_line_t *b, size_t nb)
{
    FZ_CHECK(!strcmp(ra->venue, rb->venue) && !strcmp(ra->url, rb->url) &&
                 !strcmp(ra->symbols, rb->symbols) && ra->n_sent == rb->n_sent,
             "%s: headers differ (venue '%s'/'%s')", what, ra->venue, rb->venue);
    for (size_t i = 0; i < ra->n_sent; i++)
        FZ_CHECK(!strcmp(ra->sent[i], rb->sent[i]), "%s: sent line %zu differs", what, i);
    FZ_CHECK(na == nb, "%s: %zu lines against %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        FZ_CHECK(a[i].rc == b[i].rc, "%s: line %zu: rc %d against %d", what, i, a[i].rc, b[i].rc);
        if (a[i].rc != 1)
            continue;
        FZ_CHECK(a[i].ts == b[i].ts, "%s: line %zu: ts %lld against %lld", what, i,
                 (long long)a[i].ts, (long long)b[i].ts);
        FZ_CHECK(a[i].len == b[i].len && !memcmp(a[i].f, b[i].f, a[i].len),
                 "%s: line %zu: frames differ (%zu/%zu bytes)", what, i, a[i].len, b[i].len);
    }
}

/* Open path in stream mode (window 64) and read it; *r is left open for the header. */
static size_t stream_read(const char *path, feed_tgrec_t **r, fz_line_t *out, int *rc)
{
    *rc = feed_tgrec_open_stream(r, path, 64);
    if (*rc < 0)
        return 0;
    return read_all(*r, out, 1);
}

static fz_line_t la[FZ_MAX_LINES], lb[FZ_MAX_LINES], lc[FZ_MAX_LINES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fz_memfd("tgrec", data, size);
    FZ_CHECK(fd >= 0, "memfd");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int is_zstd = size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f &&
                  data[3] == 0xfd; /* ZSTD_MAGICNUMBER, little-endian */

    feed_tgrec_t *ra = NULL, *rb = NULL, *rc_ = NULL;
    int rca =
        is_zstd ? feed_tgrec_open(&ra, path) : feed_tgrec_open_mem(&ra, (const char *)data, size);
    size_t na = rca == 0 ? read_all(ra, la, 0) : 0;
    if (!is_zstd) {
        feed_tgrec_t *rf = NULL;
        int rcf = feed_tgrec_open(&rf, path);
        FZ_CHECK(rcf == rca, "open_mem %d, open (file) %d", rca, rcf);
        if (rcf == 0) {
            size_t nf = read_all(rf, lb, 1);
            same("memory/file", ra, la, na, rf, lb, nf);
            free_lines(lb, nf);
        }
        feed_tgrec_close(&rf);
    }
    int rcb;
    size_t nb = stream_read(path, &rb, lb, &rcb);
    FZ_CHECK((rca == 0) == (rcb == 0), "whole open %d, stream open %d", rca, rcb);
    if (rca == 0 && rcb == 0)
        same("whole/stream", ra, la, na, rb, lb, nb);
    close(fd);

    if (!is_zstd && size < (1u << 20)) {
        size_t cap = ZSTD_compressBound(size);
        void *z = malloc(cap);
        static ZSTD_CCtx *cctx; /* one for the process: a new one per input costs MBs */
        if (!cctx)
            cctx = ZSTD_createCCtx();
        size_t zn = ZSTD_compressCCtx(cctx, z, cap, data, size, 1);
        FZ_CHECK(!ZSTD_isError(zn), "zstd compress");
        int zfd = fz_memfd("tgrec.zst", z, zn);
        free(z);
        FZ_CHECK(zfd >= 0, "memfd");
        snprintf(path, sizeof(path), "/proc/self/fd/%d", zfd);
        int rcc;
        size_t nc = stream_read(path, &rc_, lc, &rcc);
        FZ_CHECK((rca == 0) == (rcc == 0), "text open %d, zstd stream open %d", rca, rcc);
        if (rca == 0 && rcc == 0)
            same("text/zstd stream", ra, la, na, rc_, lc, nc);
        free_lines(lc, nc);
        feed_tgrec_close(&rc_);
        close(zfd);
    }
    free_lines(lb, nb);
    feed_tgrec_close(&rb);
    feed_tgrec_close(&ra);
    return 0;
}
