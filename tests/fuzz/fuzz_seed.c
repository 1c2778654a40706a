/* SPDX-License-Identifier: MIT */
/*
 * Seed corpora for the fuzz harnesses from recordings, read with the tgrec reader
 * (feeds/rec/feed_tgrec.c). tools/dev/fuzz.sh runs it at fuzz time on ../shared/recordings
 * (nothing of megabytes is committed); the small committed corpus under tests/fuzz/corpus was
 * made with it too (-n 6 -s 16384).
 *
 * usage: fuzz_seed [-n MAX_PER_FILE] [-s MAX_BYTES] OUTDIR RECORDING...
 * writes:
 *   OUTDIR/venue/<venue>/<file>-<k>  runs of consecutive frames, one per line: the first
 *                                    frames of the connection (acks, snapshots), then windows
 *                                    spread over the recording (fuzz_venue input);
 *   OUTDIR/rest/<venue>/<file>-<k>   the frames before an in-band REST answer, then its body
 *                                    as the last line (fuzz_rest input);
 *   OUTDIR/tgrec/<file>-<k>          the header and the first data lines, as text (fuzz_tgrec).
 * Seeds over MAX_BYTES are cut at a line end (a single longer frame is skipped).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feeds/feed.h"
#include "feeds/rec/feed_tgrec.h"

static int mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

typedef struct frames {
    const char **f;
    size_t *len;
    size_t n;
} frames_t;

/* Write frames [from, to) one per line, at most max bytes. Returns 1 written, 0 nothing. */
static int write_run(const char *dir, const char *base, int k, const frames_t *fr, size_t from,
                     size_t to, const char *tail, size_t tail_len, size_t max)
{
    size_t total = tail_len;
    if (total > max)
        return 0;
    size_t end = from;
    while (end < to && total + fr->len[end] + 1 <= max)
        total += fr->len[end++] + 1;
    if (end == from && !tail)
        return 0;
    char path[8300];
    snprintf(path, sizeof(path), "%s/%s-%03d", dir, base, k);
    if (mkdirs(dir) < 0)
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    for (size_t i = from; i < end; i++) {
        fwrite(fr->f[i], 1, fr->len[i], f);
        if (i + 1 < end || tail)
            fputc('\n', f);
    }
    if (tail)
        fwrite(tail, 1, tail_len, f);
    fclose(f);
    return 1;
}

/* The body of an in-band REST answer: the text after "data": up to the closing brace. */
static const char *rest_body(const char *f, size_t len, size_t *blen)
{
    const char *d = strstr(f, "\"data\":");
    if (!d || f[len - 1] != '}')
        return NULL;
    d += 7;
    *blen = (size_t)(f + len - 1 - d);
    return d;
}

static int seed_file(const char *out, const char *path, int max_n, size_t max_bytes)
{
    feed_tgrec_t *r = NULL;
    int rc = feed_tgrec_open(&r, path);
    if (rc < 0) {
        fprintf(stderr, "fuzz_seed: %s: error %d\n", path, rc);
        return -1;
    }
    frames_t fr = {calloc(r->data_lines + 1, sizeof(char *)),
                   calloc(r->data_lines + 1, sizeof(size_t)), 0};
    int64_t ts;
    while (fr.n < r->data_lines && (rc = feed_tgrec_next(r, &ts, &fr.f[fr.n], &fr.len[fr.n])) != 0)
        if (rc == 1)
            fr.n++;
    char b[4096];
    snprintf(b, sizeof(b), "%s", path);
    char *base = basename(b);
    char *dot = strchr(base, '.');
    if (dot)
        *dot = 0;
    char dir[4096];
    int made = 0;
    /* venue: the first frames, then windows of 4 spread evenly */
    snprintf(dir, sizeof(dir), "%s/venue/%s", out, r->venue);
    made += write_run(dir, base, 0, &fr, 0, fr.n < 24 ? fr.n : 24, NULL, 0, max_bytes);
    for (int k = 1; k < max_n && fr.n > 4; k++) {
        size_t at = (size_t)k * (fr.n - 4) / (size_t)max_n;
        made += write_run(dir, base, k, &fr, at, at + 4, NULL, 0, max_bytes);
    }
    /* rest: each in-band answer with the (up to) 3 frames before it */
    snprintf(dir, sizeof(dir), "%s/rest/%s", out, r->venue);
    int nrest = 0;
    const feed_venue_t *v = feed_venue_find(r->venue);
    for (size_t i = 0; v && v->on_rest && i < fr.n && nrest < max_n; i++) {
        size_t blen;
        const char *body;
        if (!feed_tgrec_is_generated(fr.f[i], fr.len[i]) ||
            !(body = rest_body(fr.f[i], fr.len[i], &blen)))
            continue;
        size_t from = i, got = 0;
        while (from > 0 && got < 3) {
            from--;
            if (!feed_tgrec_is_generated(fr.f[from], fr.len[from]))
                got++;
        }
        /* only the non-generated frames before it */
        frames_t sub = {calloc(4, sizeof(char *)), calloc(4, sizeof(size_t)), 0};
        for (size_t j = from; j < i; j++)
            if (!feed_tgrec_is_generated(fr.f[j], fr.len[j])) {
                sub.f[sub.n] = fr.f[j];
                sub.len[sub.n++] = fr.len[j];
            }
        nrest += write_run(dir, base, nrest, &sub, 0, sub.n, body, blen, max_bytes);
        free(sub.f);
        free(sub.len);
    }
    made += nrest;
    /* tgrec: the header and the first data lines as text */
    snprintf(dir, sizeof(dir), "%s/tgrec", out);
    mkdirs(dir);
    uint64_t hlen = (uint64_t)(fr.n ? fr.f[0] - r->buf : 0);
    while (hlen && r->buf[hlen - 1] != '\n')
        hlen--; /* back to the start of the first data line */
    char p2[8300];
    snprintf(p2, sizeof(p2), "%s/%s-000", dir, base);
    FILE *f = fopen(p2, "wb");
    if (f) {
        size_t total = fwrite(r->buf, 1, (size_t)hlen, f);
        for (size_t i = 0; i < fr.n && i < 40; i++) {
            if (total + fr.len[i] + 24 > max_bytes)
                break;
            total += (size_t)fprintf(f, "%lld ", (long long)(1000000000LL + (long long)i));
            total += fwrite(fr.f[i], 1, fr.len[i], f);
            fputc('\n', f);
            total++;
        }
        fclose(f);
        made++;
    }
    printf("%s: %zu frames, %d seeds\n", path, fr.n, made);
    free(fr.f);
    free(fr.len);
    feed_tgrec_close(&r);
    return 0;
}

int main(int argc, char **argv)
{
    int max_n = 100, opt;
    size_t max_bytes = 65536;
    while ((opt = getopt(argc, argv, "n:s:")) != -1) {
        if (opt == 'n')
            max_n = atoi(optarg);
        else if (opt == 's')
            max_bytes = (size_t)strtoull(optarg, NULL, 10);
        else
            return 2;
    }
    if (argc - optind < 2 || max_n < 1) {
        fprintf(stderr, "usage: fuzz_seed [-n MAX_PER_FILE] [-s MAX_BYTES] OUTDIR RECORDING...\n");
        return 2;
    }
    int bad = 0;
    for (int i = optind + 1; i < argc; i++)
        bad |= seed_file(argv[optind], argv[i], max_n, max_bytes) < 0;
    return bad;
}
