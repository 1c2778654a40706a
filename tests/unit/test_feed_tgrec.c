/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of feeds/rec/feed_tgrec.c (whole-file and streaming reader) and of the venue
 * check of `tickgate-replay books` / `serve` (tool_replay_venue_check, feed_offline_open_stream):
 * the stream returns the same lines as the whole-file reader on real recordings (plain and
 * zstd) whatever the window, memory stays at the window on a file many windows long, lines
 * longer than the window, several zstd frames, truncated zstd, CRLF / blank / bad lines, last
 * line without LF, rewind, and an unknown venue found from the header alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "book/tg_err.h"
#include "feeds/rec/feed_offline.h"
#include "feeds/rec/feed_tgrec.h"
#include "tools/replay/tool_replay_books.h"

static char g_dir[] = "/tmp/tg_tgrec_XXXXXX";

static const char *rec_path(const char *rel)
{
    static char p[1024];
    const char *r = getenv("TG_RECORDINGS");
    snprintf(p, sizeof(p), "%s/%s", r ? r : "../shared/recordings", rel);
    return p;
}

static int setup(void **st)
{
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
    static char p[2][256];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof(p[k]), "%s/%s", g_dir, name);
    return p[k];
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* zstd of text, as `parts` independent frames one after the other */
static void write_zstd(const char *path, const char *text, size_t len, int parts, size_t cut)
{
    size_t cap = ZSTD_compressBound(len) + 64 * (size_t)parts, n = 0;
    char *z = malloc(cap);
    assert_non_null(z);
    size_t off = 0;
    for (int i = 0; i < parts; i++) {
        size_t l = i == parts - 1 ? len - off : len / (size_t)parts;
        size_t r = ZSTD_compress(z + n, cap - n, text + off, l, 3);
        assert_false(ZSTD_isError(r));
        n += r;
        off += l;
    }
    assert_true(cut < n);
    write_file(path, z, n - cut);
    free(z);
}

/* Every line of a (whole-file) reader, as one text "ts frame\n..." with bad lines marked. */
static char *dump(feed_tgrec_t *r, size_t *n_lines, int *last_rc)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    int64_t ts;
    const char *f;
    size_t len;
    int rc;
    *n_lines = 0;
    while ((rc = feed_tgrec_next(r, &ts, &f, &len)) != 0 && (rc == 1 || rc == TG_EPROTO)) {
        assert_int_equal(f[len], 0); /* NUL after the frame */
        size_t need = n + len + 48;
        while (need > cap)
            out = realloc(out, cap *= 2);
        n += (size_t)sprintf(out + n, rc == 1 ? "%lld " : "BAD(%lld) ",
                             rc == 1 ? (long long)ts : 0LL);
        memcpy(out + n, f, len);
        n += len;
        out[n++] = '\n';
        ++*n_lines;
    }
    *last_rc = rc;
    out[n] = 0;
    return out;
}

static void same_as_whole(const char *path, size_t window)
{
    feed_tgrec_t *w = NULL, *s = NULL;
    assert_int_equal(feed_tgrec_open(&w, path), 0);
    assert_int_equal(feed_tgrec_open_stream(&s, path, window), 0);
    assert_string_equal(w->venue, s->venue);
    assert_string_equal(w->url, s->url);
    assert_string_equal(w->symbols, s->symbols);
    assert_int_equal(w->n_sent, s->n_sent);
    assert_int_equal(s->data_lines, 0); /* counted as it goes */
    size_t nw, ns;
    int rw, rs;
    char *a = dump(w, &nw, &rw), *b = dump(s, &ns, &rs);
    assert_int_equal(rw, 0);
    assert_int_equal(rs, 0);
    assert_int_equal(nw, ns);
    assert_true(nw > 0);
    assert_int_equal(strlen(a), strlen(b));
    assert_memory_equal(a, b, strlen(a));
    assert_int_equal(w->data_lines, s->data_lines);
    for (size_t i = 0; i < w->n_sent; i++) /* copies, valid after the window moved on */
        assert_string_equal(w->sent[i], s->sent[i]);
    assert_int_equal(feed_tgrec_text_offset(s), w->len);
    assert_int_equal(s->err, 0);
    free(a);
    free(b);
    feed_tgrec_close(&w);
    feed_tgrec_close(&s);
    assert_null(s);
}

static void test_stream_returns_the_lines_of_the_whole_file_reader(void **st)
{
    static const char *const files[] = {
        "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst",           /* zstd, 41 k lines */
        "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec",            /* plain */
        "coinbase-advanced/cryptofeed_57d5f18d_COINBASE.ws.2.tgrec.zst", /* 5.1 MB line */
        "huobi/cryptofeed_ce58c2a0_HUOBI.ws.44.tgrec.zst",               /* gzip frames */
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (access(rec_path(files[i]), R_OK) != 0) {
            print_message("skip %s (not there)\n", files[i]);
            continue;
        }
        same_as_whole(rec_path(files[i]), 0);
        same_as_whole(rec_path(files[i]), 4096); /* many refills, lines across them */
    }
}

/* a synthetic recording: header, then n lines of about 200 bytes; a few special lines */
static char *synth(size_t n, size_t *len, const char *venue, size_t long_line)
{
    size_t cap = n * 256 + long_line + 4096, k = 0;
    char *t = malloc(cap);
    k += (size_t)sprintf(t,
                         "# tgrec 1\n# venue: %s\n# url: wss://x/ws\n# symbols: BTCUSDT\n"
                         "# sent: {\"op\":\"subscribe\",\"depth\":20}\n",
                         venue);
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(t + k, "%zu {\"e\":\"depthUpdate\",\"u\":%zu,\"pad\":\"", 1000 + i, i);
        memset(t + k, 'a' + (int)(i % 26), 150);
        k += 150;
        k += (size_t)sprintf(t + k, "\"}\n");
        if (i == n / 2 && long_line) { /* one line much longer than any window in the tests */
            k += (size_t)sprintf(t + k, "%zu {\"big\":\"", 1000 + i);
            memset(t + k, 'x', long_line);
            k += long_line;
            k += (size_t)sprintf(t + k, "\"}\n");
        }
    }
    *len = k;
    return t;
}

static void test_stream_memory_stays_at_the_window_on_a_long_file(void **st)
{
    size_t len;
    char *t = synth(200000, &len, "binance", 0); /* ~40 MB: ~300 windows of 128 KiB */
    const char *p = tmp_path("long.tgrec");
    write_file(p, t, len);
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open_stream(&r, p, 0), 0);
    assert_true(r->file_bytes <= FEED_TGREC_WINDOW); /* open read the header only */
    int64_t ts, prev = 0;
    const char *f;
    size_t n, lines = 0;
    while (feed_tgrec_next(r, &ts, &f, &n) == 1) {
        assert_true(ts == prev + 1 || lines == 0);
        prev = ts;
        lines++;
        assert_true(r->cap <= FEED_TGREC_WINDOW); /* never grew */
    }
    assert_int_equal(lines, 200000);
    assert_int_equal(r->data_lines, 200000);
    assert_int_equal(r->file_bytes, len);
    assert_int_equal(feed_tgrec_text_offset(r), len);
    /* rewind: the same pass again */
    assert_int_equal(feed_tgrec_rewind(r), 0);
    lines = 0;
    while (feed_tgrec_next(r, &ts, &f, &n) == 1)
        lines++;
    assert_int_equal(lines, 200000);
    feed_tgrec_close(&r);
    free(t);
}

static void check_long_line(const char *p, size_t window, size_t long_line)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open_stream(&r, p, window), 0);
    int64_t ts;
    const char *f;
    size_t n, lines = 0, big = 0;
    while (feed_tgrec_next(r, &ts, &f, &n) == 1) {
        lines++;
        if (n > long_line) {
            big++;
            assert_int_equal(n, long_line + 10); /* {"big":"..."} */
            assert_memory_equal(f + n - 4, "xx\"}", 4);
        }
    }
    assert_int_equal(lines, 1001);
    assert_int_equal(big, 1);
    /* the window grew to hold the line, no more than twice its size */
    assert_true(r->cap > long_line && r->cap <= 4 * long_line);
    feed_tgrec_close(&r);
}

static void test_stream_reads_lines_longer_than_the_window(void **st)
{
    size_t len, long_line = 3u << 20; /* 3 MiB, as the 5.1 MB coinbase-advanced snapshot */
    char *t = synth(1000, &len, "binance", long_line);
    write_file(tmp_path("big.tgrec"), t, len);
    write_zstd(tmp_path("big.tgrec.zst"), t, len, 1, 0);
    check_long_line(tmp_path("big.tgrec"), 4096, long_line);
    check_long_line(tmp_path("big.tgrec.zst"), 4096, long_line);
    free(t);
}

static void test_stream_reads_several_zstd_frames(void **st)
{
    size_t len;
    char *t = synth(5000, &len, "binance", 0);
    write_zstd(tmp_path("multi.tgrec.zst"), t, len, 7, 0);
    write_file(tmp_path("multi.tgrec"), t, len);
    feed_tgrec_t *a = NULL, *b = NULL;
    assert_int_equal(feed_tgrec_open_stream(&a, tmp_path("multi.tgrec.zst"), 8192), 0);
    assert_int_equal(feed_tgrec_open(&b, tmp_path("multi.tgrec")), 0);
    size_t na, nb;
    int ra, rb;
    char *x = dump(a, &na, &ra), *y = dump(b, &nb, &rb);
    assert_int_equal(ra, 0);
    assert_int_equal(na, 5000);
    assert_int_equal(na, nb);
    assert_string_equal(x, y);
    free(x);
    assert_int_equal(feed_tgrec_rewind(a), 0); /* the decompression thread starts again */
    x = dump(a, &na, &ra);
    assert_int_equal(ra, 0);
    assert_string_equal(x, y);
    free(x);
    free(y);
    feed_tgrec_close(&a);
    feed_tgrec_close(&b);
    free(t);
}

static void test_truncated_zstd_is_an_error_after_the_complete_lines(void **st)
{
    size_t len;
    char *t = synth(5000, &len, "binance", 0);
    const char *p = tmp_path("trunc.tgrec.zst");
    write_zstd(p, t, len, 1, 50);
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open(&r, p), -EBADMSG); /* whole file: refused */
    assert_int_equal(feed_tgrec_open_stream(&r, p, 8192), 0);
    size_t n;
    int rc;
    char *x = dump(r, &n, &rc);
    assert_int_equal(rc, -EBADMSG);
    assert_int_equal(r->err, -EBADMSG);
    assert_true(n > 4000 && n < 5000); /* the lines before the cut */
    int64_t ts;
    const char *f;
    size_t l;
    assert_int_equal(feed_tgrec_next(r, &ts, &f, &l), 0); /* reported once, then the end */
    free(x);
    feed_tgrec_close(&r);

    /* the offline driver stops with the error instead of a silent short result */
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open_stream(&o, p, NULL, NULL, 0), 0);
    assert_int_equal(feed_offline_run(o, NULL, NULL), -EBADMSG);
    assert_true(o->rec->data_lines > 4000);
    feed_offline_close(&o);
    free(t);
}

static void test_odd_lines_read_the_same_in_both_modes(void **st)
{
    static const char text[] = "# tgrec 1\r\n# venue: binance\n# sent: {\"a\":1}\n"
                               "1 {\"x\":1}\r\n"
                               "\n"
                               "garbage line\n"
                               "2 {\"x\":2}\n"
                               "\r\n"
                               "3 {\"x\":3}"; /* no LF at the end */
    write_file(tmp_path("odd.tgrec"), text, sizeof(text) - 1);
    feed_tgrec_t *m = NULL, *s = NULL;
    assert_int_equal(feed_tgrec_open_mem(&m, text, sizeof(text) - 1), 0);
    assert_int_equal(feed_tgrec_open_stream(&s, tmp_path("odd.tgrec"), 16), 0);
    assert_string_equal(s->sent[0], "{\"a\":1}");
    size_t nm, ns;
    int rm, rs;
    char *a = dump(m, &nm, &rm), *b = dump(s, &ns, &rs);
    assert_string_equal(a, "1 {\"x\":1}\nBAD(0) garbage line\n2 {\"x\":2}\n3 {\"x\":3}\n");
    assert_string_equal(a, b);
    assert_int_equal(m->data_lines, 5); /* non-empty lines, "\r" included */
    assert_int_equal(s->data_lines, m->data_lines);
    free(a);
    free(b);
    feed_tgrec_close(&m);
    feed_tgrec_close(&s);
}

/* Receive times are read 16 digits at once when the line is longer than 16 bytes
 * (feed_digits.h), the rest one at a time: every way a time can end or go wrong around those
 * 16 bytes reads as the digit-at-a-time loop did (the expected values are the texts' digits). */
static void test_receive_times_around_the_16_digit_word(void **st)
{
    static const char text[] = "# tgrec 1\n# venue: binance\n"
                               "1723161253937085768 {\"x\":1}\n"   /* 19 digits, the usual */
                               "1234567890123456 {\"x\":2}\n"      /* 16: a space at [16] */
                               "12345678901234567 {}\n"            /* 17 */
                               "123456789012345678901 {\"x\":3}\n" /* 21: BAD at [19] */
                               "1234567890123456x {\"x\":4}\n"     /* BAD: a letter at [16] */
                               "123456789012345: {\"x\":5}\n"      /* BAD: ':' (0x3a) at [15] */
                               "1234567/90123456 {\"x\":6}\n"      /* BAD: '/' (0x2f) at [7] */
                               "00000000000000000001 {\"x\":7}\n"  /* 20: BAD at [19] */
                               "0000000000000000009 {\"x\":8}\n"   /* leading zeros */
                               "12 {\"x\":9}\n"                    /* short line: no word */
                               "9999999999999999 {}";              /* no LF at the end */
    write_file(tmp_path("ts.tgrec"), text, sizeof(text) - 1);
    feed_tgrec_t *m = NULL, *s = NULL;
    assert_int_equal(feed_tgrec_open_mem(&m, text, sizeof(text) - 1), 0);
    assert_int_equal(feed_tgrec_open_stream(&s, tmp_path("ts.tgrec"), 24), 0); /* many refills */
    size_t nm, ns;
    int rm, rs;
    char *a = dump(m, &nm, &rm), *b = dump(s, &ns, &rs);
    assert_string_equal(a, "1723161253937085768 {\"x\":1}\n"
                           "1234567890123456 {\"x\":2}\n"
                           "12345678901234567 {}\n"
                           "BAD(0) 123456789012345678901 {\"x\":3}\n"
                           "BAD(0) 1234567890123456x {\"x\":4}\n"
                           "BAD(0) 123456789012345: {\"x\":5}\n"
                           "BAD(0) 1234567/90123456 {\"x\":6}\n"
                           "BAD(0) 00000000000000000001 {\"x\":7}\n"
                           "9 {\"x\":8}\n"
                           "12 {\"x\":9}\n"
                           "9999999999999999 {}\n");
    assert_string_equal(a, b);
    free(a);
    free(b);
    feed_tgrec_close(&m);
    feed_tgrec_close(&s);
}

static void test_not_tgrec_and_missing_files_are_errors(void **st)
{
    feed_tgrec_t *r = NULL;
    write_file(tmp_path("not.tgrec"), "hello\n1 x\n", 10);
    assert_int_equal(feed_tgrec_open_stream(&r, tmp_path("not.tgrec"), 0), TG_EPROTO);
    assert_int_equal(feed_tgrec_open(&r, tmp_path("not.tgrec")), TG_EPROTO);
    assert_int_equal(feed_tgrec_open_stream(&r, tmp_path("none.tgrec"), 0), -ENOENT);
    assert_int_equal(feed_tgrec_open(&r, tmp_path("none.tgrec")), -ENOENT);
    write_file(tmp_path("junk.zst"), "\x28\xb5\x2f\xfdjunkjunkjunk", 16);
    assert_int_equal(feed_tgrec_open_stream(&r, tmp_path("junk.zst"), 0), -EBADMSG);
    assert_null(r);
    feed_tgrec_close(&r); /* NULL: no-op */
}

static void test_unknown_venue_is_found_from_the_header_alone(void **st)
{
    size_t len;
    char *t = synth(100000, &len, "nosuchvenue", 0); /* ~20 MB */
    const char *p = tmp_path("venue.tgrec");
    write_file(p, t, len);
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open_stream(&r, p, 0), 0);
    assert_string_equal(r->venue, "nosuchvenue");
    assert_true(r->file_bytes < len / 10);
    feed_tgrec_close(&r);
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open_stream(&o, p, NULL, NULL, 0), TG_ECONFIG);
    assert_null(o);
    assert_int_equal(tool_replay_venue_check(p, NULL), 2);
    assert_int_equal(tool_replay_venue_check(p, "binance"), 0); /* --venue overrides */
    assert_int_equal(tool_replay_venue_check("/nonexistent", "bogus"), 2);
    assert_int_equal(tool_replay_venue_check("/nonexistent", NULL), 0); /* reported later */
    free(t);
    t = synth(10, &len, "okx", 0); /* an alias is known */
    write_file(p, t, len);
    assert_int_equal(tool_replay_venue_check(p, NULL), 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_returns_the_lines_of_the_whole_file_reader),
        cmocka_unit_test(test_stream_memory_stays_at_the_window_on_a_long_file),
        cmocka_unit_test(test_stream_reads_lines_longer_than_the_window),
        cmocka_unit_test(test_stream_reads_several_zstd_frames),
        cmocka_unit_test(test_truncated_zstd_is_an_error_after_the_complete_lines),
        cmocka_unit_test(test_odd_lines_read_the_same_in_both_modes),
        cmocka_unit_test(test_receive_times_around_the_16_digit_word),
        cmocka_unit_test(test_not_tgrec_and_missing_files_are_errors),
        cmocka_unit_test(test_unknown_venue_is_found_from_the_header_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
