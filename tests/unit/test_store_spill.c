/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the spill journal (storage/store_spill.h): FIFO order across segments and
 * reopen, the cursor advancing only on advance(), the size bound (-ENOSPC, nothing written),
 * torn tails cut at open, and damaged records (bit flip in the payload, in the length, a
 * truncated record in the middle) detected, reported once, skipped, and never returned.
 * Each test works in its own mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "storage/pg/store_spill.h"

typedef struct fx {
    char dir[64];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tg-spill-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static store_spill_t *open_j(fx_t *f, uint64_t max, uint64_t seg)
{
    store_spill_cfg_t c;
    store_spill_cfg_defaults(&c);
    c.dir = f->dir;
    if (max)
        c.max_bytes = max;
    if (seg)
        c.segment_bytes = seg;
    store_spill_t *s = NULL;
    char err[256];
    int rc = store_spill_open(&s, &c, err, sizeof err);
    if (rc != 0)
        fail_msg("open: %s", err);
    return s;
}

/* Record i: "rec-<i>" followed by i % 300 bytes of (i + k) & 0xff. */
static size_t make(uint32_t i, uint8_t *buf)
{
    size_t n = (size_t)sprintf((char *)buf, "rec-%u", i);
    for (uint32_t k = 0; k < i % 300; k++)
        buf[n++] = (uint8_t)(i + k);
    return n;
}

static void append(store_spill_t *s, uint32_t i)
{
    uint8_t buf[512];
    size_t n = make(i, buf);
    struct iovec iov[2] = {{buf, n / 2}, {buf + n / 2, n - n / 2}};
    assert_int_equal(store_spill_append(s, iov, 2), 0);
}

static void expect(store_spill_t *s, uint32_t i)
{
    uint8_t want[512];
    size_t wn = make(i, want);
    const uint8_t *p;
    size_t n;
    int rc = store_spill_peek(s, &p, &n);
    if (rc != 0)
        fail_msg("record %u: peek returned %d", i, rc);
    assert_int_equal(n, wn);
    assert_memory_equal(p, want, wn);
    assert_int_equal(store_spill_advance(s), 0);
}

static void expect_empty(store_spill_t *s)
{
    const uint8_t *p;
    size_t n;
    assert_int_equal(store_spill_peek(s, &p, &n), -ENOENT);
}

static int count_segments(fx_t *f)
{
    DIR *d = opendir(f->dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "seg-", 4) == 0;
    closedir(d);
    return n;
}

static void seg_path(fx_t *f, int k, char *out, size_t n)
{
    /* k-th segment file in name order */
    struct dirent **list;
    int m = scandir(f->dir, &list, NULL, alphasort), seen = 0;
    out[0] = 0;
    for (int i = 0; i < m; i++) {
        if (strncmp(list[i]->d_name, "seg-", 4) == 0 && seen++ == k)
            snprintf(out, n, "%s/%s", f->dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static void test_crc32c_matches_the_standard_check_value(void **state)
{
    (void)state;
    assert_int_equal(store_spill_crc32c(0, "123456789", 9), 0xe3069283u);
    /* incremental == one shot */
    uint32_t c = store_spill_crc32c(0, "1234", 4);
    assert_int_equal(store_spill_crc32c(c, "56789", 5), 0xe3069283u);
}

static void test_records_come_back_in_order_across_segments_and_reopen(void **state)
{
    fx_t *f = *state;
    store_spill_t *s = open_j(f, 0, 4096);
    for (uint32_t i = 0; i < 200; i++)
        append(s, i);
    assert_true(count_segments(f) > 5);
    assert_int_equal(store_spill_pending(s), 200);
    for (uint32_t i = 0; i < 50; i++)
        expect(s, i);
    store_spill_close(&s);
    s = open_j(f, 0, 4096); /* the cursor survived */
    assert_int_equal(store_spill_pending(s), 150);
    for (uint32_t i = 50; i < 200; i++)
        expect(s, i);
    expect_empty(s);
    assert_int_equal(count_segments(f), 0); /* caught up: nothing left on disk */
    append(s, 7);                           /* and it keeps working afterwards */
    store_spill_close(&s);
    s = open_j(f, 0, 4096);
    expect(s, 7);
    expect_empty(s);
    store_spill_close(&s);
}

static void test_peek_without_advance_returns_the_same_record_again(void **state)
{
    fx_t *f = *state;
    store_spill_t *s = open_j(f, 0, 0);
    append(s, 1);
    append(s, 2);
    const uint8_t *p;
    size_t n;
    assert_int_equal(store_spill_peek(s, &p, &n), 0);
    assert_int_equal(store_spill_peek(s, &p, &n), 0);
    assert_memory_equal(p, "rec-1", 5);
    store_spill_close(&s); /* crash before advance: replayed again */
    s = open_j(f, 0, 0);
    expect(s, 1);
    expect(s, 2);
    store_spill_close(&s);
}

static void test_full_journal_refuses_appends_and_writes_nothing(void **state)
{
    fx_t *f = *state;
    store_spill_t *s = open_j(f, 2000, 1000);
    uint8_t buf[300];
    memset(buf, 'x', sizeof buf);
    struct iovec iov = {buf, sizeof buf};
    int ok = 0, rc;
    while ((rc = store_spill_append(s, &iov, 1)) == 0)
        ok++;
    assert_int_equal(rc, -ENOSPC);
    assert_true(ok >= 4 && ok <= 6);
    assert_int_equal(TG_STAT_GET(store_spill_stats(s)->full), 1);
    assert_true(TG_STAT_GET(store_spill_stats(s)->pending_bytes) <= 2000);
    assert_int_equal(store_spill_pending(s), (uint64_t)ok);
    /* consuming whole segments frees room */
    for (int i = 0; i < ok; i++) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(store_spill_peek(s, &p, &n), 0);
        assert_int_equal(store_spill_advance(s), 0);
    }
    assert_int_equal(store_spill_append(s, &iov, 1), 0);
    store_spill_close(&s);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Records first .. first+n-1 written to a journal with segments of seg bytes (0: default) and
 * closed; path is its first segment. */
static void written(fx_t *f, uint64_t seg, uint32_t first, uint32_t n, char path[512])
{
    store_spill_t *s = open_j(f, 0, seg);
    for (uint32_t i = first; i < first + n; i++)
        append(s, i);
    store_spill_close(&s);
    seg_path(f, 0, path, 512);
}

static void test_bit_flip_in_payload_is_reported_and_never_replayed(void **state)
{
    fx_t *f = *state;
    char path[512];
    written(f, 0, 100, 3, path);
    /* record 100 is 20 + 107 bytes; flip a payload byte of record 101 */
    flip_byte(path, 127 + 20 + 30);
    store_spill_t *s = open_j(f, 0, 0);
    expect(s, 100);
    const uint8_t *p;
    size_t n;
    assert_int_equal(store_spill_peek(s, &p, &n), TG_ESPILL);
    assert_int_equal(TG_STAT_GET(store_spill_stats(s)->corrupt), 1);
    expect(s, 102); /* resynchronised on the next valid record */
    expect_empty(s);
    store_spill_close(&s);
}

static void test_corrupted_length_is_detected_by_the_crc(void **state)
{
    fx_t *f = *state;
    char path[512];
    written(f, 0, 10, 3, path);
    flip_byte(path, 4); /* length of record 10: 16 -> 0 */
    store_spill_t *s = open_j(f, 0, 0);
    const uint8_t *p;
    size_t n;
    assert_int_equal(store_spill_peek(s, &p, &n), TG_ESPILL);
    expect(s, 11);
    expect(s, 12);
    expect_empty(s);
    assert_int_equal(TG_STAT_GET(store_spill_stats(s)->corrupt), 1);
    store_spill_close(&s);
}

static void test_torn_tail_is_cut_at_open_and_appends_continue(void **state)
{
    fx_t *f = *state;
    char path[512];
    written(f, 0, 20, 4, path);
    struct stat st;
    stat(path, &st);
    assert_int_equal(truncate(path, st.st_size - 7), 0); /* crash in the middle of record 23 */
    store_spill_t *s = open_j(f, 0, 0);
    assert_int_equal(TG_STAT_GET(store_spill_stats(s)->torn_tail_bytes), 20 + 6 + 23 - 7);
    assert_int_equal(store_spill_pending(s), 3);
    append(s, 99);
    expect(s, 20);
    expect(s, 21);
    expect(s, 22);
    expect(s, 99); /* never a half record */
    expect_empty(s);
    store_spill_close(&s);
}

static void test_truncated_middle_segment_is_reported_then_next_segment_read(void **state)
{
    fx_t *f = *state;
    char path[512];
    written(f, 1000, 200, 12, path); /* ~227 bytes each: 4 per segment */
    assert_int_equal(count_segments(f), 3);
    struct stat st;
    stat(path, &st);
    assert_int_equal(truncate(path, st.st_size - 3), 0);
    store_spill_t *s = open_j(f, 0, 1000);
    uint32_t got = 0, bad = 0, last = 0;
    for (;;) {
        const uint8_t *p;
        size_t n;
        int rc = store_spill_peek(s, &p, &n);
        if (rc == -ENOENT)
            break;
        if (rc == TG_ESPILL) {
            bad++;
            continue;
        }
        assert_int_equal(rc, 0);
        uint32_t i = (uint32_t)atoi((const char *)p + 4);
        uint8_t want[512];
        size_t wn = make(i, want);
        assert_int_equal(n, wn);
        assert_memory_equal(p, want, n);
        assert_true(got == 0 || i > last);
        last = i;
        got++;
        assert_int_equal(store_spill_advance(s), 0);
    }
    assert_int_equal(bad, 1);
    assert_int_equal(got, 11); /* all but the damaged one */
    assert_int_equal(last, 211);
    store_spill_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_matches_the_standard_check_value),
        cmocka_unit_test_setup_teardown(test_records_come_back_in_order_across_segments_and_reopen,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_without_advance_returns_the_same_record_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_journal_refuses_appends_and_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bit_flip_in_payload_is_reported_and_never_replayed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_length_is_detected_by_the_crc, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut_at_open_and_appends_continue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_truncated_middle_segment_is_reported_then_next_segment_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
