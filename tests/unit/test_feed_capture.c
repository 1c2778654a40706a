/* SPDX-License-Identifier: MIT */
/*
 * feeds/feed_capture: every frame of real recordings written through the capture must read
 * back identical (timestamps, frames, header) with the shared tgrec reader, across size
 * rotation and connection restarts; CR/LF in a frame is replaced and counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feeds/rec/feed_capture.h"
#include "feeds/rec/feed_tgrec.h"

static const char *g_recs;

typedef struct fx {
    char dir[64];
    feed_capture_t *cap;
} fx_t;

static int setup(void **st)
{
    fx_t *x = calloc(1, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/tg-cap-unit-XXXXXX");
    if (!mkdtemp(x->dir))
        return -1;
    *st = x;
    return 0;
}

static int teardown(void **st)
{
    fx_t *x = *st;
    feed_capture_destroy(&x->cap);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
    int rc = system(cmd);
    free(x);
    return rc == 0 ? 0 : -1;
}

/* Capture defaults writing into the fixture's folder. */
static void cap_cfg(const fx_t *x, feed_capture_cfg_t *c)
{
    feed_capture_cfg_defaults(c);
    c->dir = x->dir;
}

static void open_cap(fx_t *x, uint64_t max_bytes, uint32_t chunk)
{
    feed_capture_cfg_t c;
    cap_cfg(x, &c);
    c.prefix = "u";
    c.max_bytes = max_bytes;
    c.chunk = chunk;
    assert_int_equal(feed_capture_create(&x->cap, &c), 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of the files in dir (names sort by time stamp then sequence number). */
static size_t list_files(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        v = realloc(v, (n + 1) * sizeof(*v));
        v[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        sprintf(v[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    return n;
}

/* Write a whole recording through the capture, then read every file back. */
static void roundtrip(fx_t *x, const char *rel, uint64_t max_bytes, uint32_t chunk,
                      size_t min_files)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", g_recs, rel);
    feed_tgrec_t *src = NULL;
    assert_int_equal(feed_tgrec_open(&src, path), 0);
    open_cap(x, max_bytes, chunk);
    assert_int_equal(feed_capture_begin(x->cap, src->venue, src->url, src->symbols), 0);
    for (size_t i = 0; i < src->n_sent; i++)
        assert_int_equal(feed_capture_sent(x->cap, src->sent[i], strlen(src->sent[i])), 0);
    int64_t ts;
    const char *f;
    size_t len, n = 0;
    while (feed_tgrec_next(src, &ts, &f, &len) == 1) {
        assert_int_equal(feed_capture_frame(x->cap, ts, f, len), 0);
        n++;
    }
    assert_int_equal(feed_capture_finish(x->cap), 0);
    const feed_capture_stats_t *st = feed_capture_stats(x->cap);
    assert_int_equal(TG_STAT_GET(st->frames), n);
    assert_int_equal(TG_STAT_GET(st->errors), 0);
    assert_int_equal(TG_STAT_GET(st->altered), 0);
    assert_true(TG_STAT_GET(st->bytes_out) < TG_STAT_GET(st->bytes_in));

    char **files;
    size_t nf = list_files(x->dir, &files);
    assert_int_equal(nf, TG_STAT_GET(st->files));
    assert_true(nf >= min_files);
    feed_tgrec_close(&src); /* reopen rather than rewind: independent of rewind's state */
    assert_int_equal(feed_tgrec_open(&src, path), 0);
    size_t seen = 0;
    for (size_t k = 0; k < nf; k++) {
        feed_tgrec_t *r = NULL;
        assert_int_equal(feed_tgrec_open(&r, files[k]), 0);
        assert_string_equal(r->venue, src->venue);
        assert_string_equal(r->url, src->url);
        assert_string_equal(r->symbols, src->symbols);
        assert_int_equal(r->n_sent, src->n_sent); /* the header repeats in every file */
        for (size_t i = 0; i < r->n_sent; i++)
            assert_string_equal(r->sent[i], src->sent[i]);
        int64_t ts2;
        const char *f2;
        size_t len2;
        while (feed_tgrec_next(r, &ts2, &f2, &len2) == 1) {
            assert_int_equal(feed_tgrec_next(src, &ts, &f, &len), 1);
            assert_int_equal(ts2, ts);
            assert_int_equal(len2, len);
            assert_memory_equal(f2, f, len);
            seen++;
        }
        feed_tgrec_close(&r);
        free(files[k]);
    }
    free(files);
    assert_int_equal(seen, n);
    feed_tgrec_close(&src);
}

static void test_kraken_recording_round_trips_through_one_capture_file(void **st)
{
    roundtrip(*st, "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec", 0, 256u << 10, 1);
}

static void test_binance_recording_round_trips_across_size_rotation(void **st)
{
    /* ~1 MiB per file, small compression chunks: many files, many steps per file */
    roundtrip(*st, "binance/cryptofeed_1312c062_BINANCE-b38f7c.tgrec.zst", 1u << 20, 16u << 10, 3);
}

static void test_frames_with_newlines_are_flattened_and_counted(void **st)
{
    fx_t *x = *st;
    open_cap(x, 0, 4096);
    assert_int_equal(feed_capture_begin(x->cap, "test", "ws://h/", "A,B"), 0);
    const char a[] = "{\"a\":\n1,\r\n\"b\":2}";
    assert_int_equal(feed_capture_frame(x->cap, 5, a, sizeof(a) - 1), 0);
    assert_int_equal(feed_capture_frame(x->cap, 6, "{}", 2), 0);
    assert_int_equal(feed_capture_finish(x->cap), 0);
    assert_int_equal(TG_STAT_GET(feed_capture_stats(x->cap)->altered), 1);
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open(&r, feed_capture_path(x->cap)), 0);
    int64_t ts;
    const char *f;
    size_t len;
    assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 1);
    assert_int_equal(ts, 5);
    assert_string_equal(f, "{\"a\": 1,  \"b\":2}");
    assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 1);
    assert_string_equal(f, "{}");
    assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 0);
    feed_tgrec_close(&r);
}

static void test_each_connection_starts_a_new_file_and_late_sends_are_counted(void **st)
{
    fx_t *x = *st;
    open_cap(x, 0, 4096);
    assert_int_equal(feed_capture_begin(x->cap, "test", "ws://h/1", "A"), 0);
    assert_int_equal(feed_capture_sent(x->cap, "sub1", 4), 0);
    assert_int_equal(feed_capture_frame(x->cap, 1, "one", 3), 0);
    assert_int_equal(feed_capture_sent(x->cap, "late", 4), -ENOSPC);
    assert_int_equal(feed_capture_rest(x->cap, 2, "/api/x?y=1", 9, 200, "{\"k\":1}", 7), 0);
    assert_int_equal(feed_capture_begin(x->cap, "test", "ws://h/2", "A"), 0);
    assert_int_equal(feed_capture_sent(x->cap, "sub2", 4), 0);
    assert_int_equal(feed_capture_frame(x->cap, 3, "two", 3), 0);
    feed_capture_destroy(&x->cap);
    char **files;
    size_t nf = list_files(x->dir, &files);
    assert_int_equal(nf, 2);
    const char *want_sent[] = {"sub1", "sub2"};
    const char *want_url[] = {"ws://h/1", "ws://h/2"};
    for (size_t k = 0; k < nf; k++) {
        feed_tgrec_t *r = NULL;
        assert_int_equal(feed_tgrec_open(&r, files[k]), 0);
        assert_string_equal(r->url, want_url[k]);
        assert_int_equal(r->n_sent, 1);
        assert_string_equal(r->sent[0], want_sent[k]);
        int64_t ts;
        const char *f;
        size_t len;
        assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 1);
        assert_string_equal(f, k == 0 ? "one" : "two");
        if (k == 0) {
            assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 1);
            assert_true(feed_tgrec_is_generated(f, len));
            assert_string_equal(f, "{\"rest\":\"/api/x?y=1\",\"tag\":9,\"status\":200,"
                                   "\"generated\":true,\"data\":{\"k\":1}}");
        }
        assert_int_equal(feed_tgrec_next(r, &ts, &f, &len), 0);
        feed_tgrec_close(&r);
        free(files[k]);
    }
    free(files);
}

static void test_a_file_older_than_max_secs_is_rotated(void **st)
{
    fx_t *x = *st;
    feed_capture_cfg_t c;
    cap_cfg(x, &c);
    c.max_secs = 1;
    assert_int_equal(feed_capture_create(&x->cap, &c), 0);
    assert_int_equal(feed_capture_begin(x->cap, "test", "ws://h/", "A"), 0);
    assert_int_equal(feed_capture_frame(x->cap, 1, "a", 1), 0);
    assert_int_equal(feed_capture_frame(x->cap, 2, "b", 1), 0);
    usleep(1100 * 1000);
    assert_int_equal(feed_capture_frame(x->cap, 3, "c", 1), 0);
    feed_capture_destroy(&x->cap);
    char **files;
    size_t nf = list_files(x->dir, &files);
    assert_int_equal(nf, 2);
    const char *want[2][3] = {{"a", "b", NULL}, {"c", NULL, NULL}};
    for (size_t k = 0; k < nf; k++) {
        feed_tgrec_t *r = NULL;
        assert_int_equal(feed_tgrec_open(&r, files[k]), 0);
        int64_t ts;
        const char *f;
        size_t len, i = 0;
        while (feed_tgrec_next(r, &ts, &f, &len) == 1)
            assert_string_equal(f, want[k][i++]);
        assert_null(want[k][i]);
        feed_tgrec_close(&r);
        free(files[k]);
    }
    free(files);
}

static void test_unwritable_directory_is_an_error_not_a_crash(void **st)
{
    feed_capture_cfg_t c;
    feed_capture_cfg_defaults(&c);
    c.dir = "/nonexistent/tg-capture";
    feed_capture_t *cap = NULL;
    assert_int_equal(feed_capture_create(&cap, &c), 0);
    assert_int_equal(feed_capture_begin(cap, "v", "ws://h/", ""), 0);
    assert_true(feed_capture_frame(cap, 1, "x", 1) < 0);
    assert_int_equal(TG_STAT_GET(feed_capture_stats(cap)->errors), 1);
    feed_capture_destroy(&cap);
    c.dir = NULL;
    assert_int_equal(feed_capture_create(&cap, &c), -EINVAL);
}

int main(void)
{
    g_recs = getenv("TG_RECORDINGS");
    if (!g_recs) {
        fprintf(stderr, "TG_RECORDINGS not set; skipping\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kraken_recording_round_trips_through_one_capture_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_binance_recording_round_trips_across_size_rotation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_with_newlines_are_flattened_and_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_each_connection_starts_a_new_file_and_late_sends_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_file_older_than_max_secs_is_rotated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_directory_is_an_error_not_a_crash, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
