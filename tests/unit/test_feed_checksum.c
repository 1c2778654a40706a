/* SPDX-License-Identifier: MIT */
/*
 * Venue checksum texts and CRC-32 (feeds/feed_checksum.c): the standard CRC-32 check value, the
 * slicing path against a bit-by-bit reference on every length and alignment, and the Kraken /
 * OKX text rules (point and leading zeros removed; interleaving with uneven sides; padding hints).
 * The recordings' 4269 Kraken and 1794 OKX checksums are verified in test_feed_kraken/okex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "book/book_l2.h"
#include "book/tg_dec.h"
#include <stdio.h>
#include "feeds/feed_checksum.h"
#include "book/tg_rng.h"

/* not used here; the wrappers are exercised with a reference book in the venue tests */
size_t book_l2_top(const book_l2_t *b, tg_side_t side, tg_level_t *out, size_t n)
{
    return 0;
}

static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_crc32_of_123456789_is_the_standard_check_value(void **state)
{
    assert_int_equal(feed_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(feed_crc32(0, "", 0), 0);
    /* streaming in two parts gives the same value */
    assert_int_equal(feed_crc32(feed_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_crc32_matches_bitwise_reference_on_all_lengths_and_offsets(void **state)
{
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof(buf); n += 1 + n / 16)
            assert_int_equal(feed_crc32(0, buf + off, n), crc_bitwise(buf + off, n));
}

static void test_kraken_text_drops_point_and_leading_zeros_asks_first(void **state)
{
    /* ADA/XBT-like: price 0.000022900 (9 dp) x 13355.87450757; bid 0.000022880 x 0.5 */
    tg_level_t asks[1] = {{229000, 1335587450757}}; /* px scale 10, sz scale 8 */
    tg_level_t bids[1] = {{228800, 50000000}};
    char text[256];
    feed_kraken_checksum_text(bids, 1, asks, 1, 10, 8, 9, 8, text, sizeof(text));
    assert_string_equal(text, "22900"
                              "1335587450757"
                              "22880"
                              "50000000");
    /* more levels than 10 are ignored */
    tg_level_t many[12];
    for (int i = 0; i < 12; i++)
        many[i] = (tg_level_t){100000000LL * (i + 1), 100000000};
    feed_kraken_checksum_text(NULL, 0, many, 12, 8, 8, 1, 1, text, sizeof(text));
    assert_string_equal(text, "1010"
                              "2010"
                              "3010"
                              "4010"
                              "5010"
                              "6010"
                              "7010"
                              "8010"
                              "9010"
                              "10010");
}

static void test_kraken_text_keeps_digits_beyond_the_printed_decimals(void **state)
{
    /* a value with more digits than the pair prints cannot come from Kraken; it must not be
       silently truncated (the checksum then fails, as it should) */
    tg_level_t asks[1] = {{123456, 100000000}}; /* 0.00123456 at scale 8, printed with 5 dp */
    char text[64];
    feed_kraken_checksum_text(NULL, 0, asks, 1, 8, 8, 5, 8, text, sizeof(text));
    assert_string_equal(text, "123456"
                              "100000000");
}

static void test_okx_text_interleaves_bids_and_asks_with_uneven_sides(void **state)
{
    tg_level_t bids[2] = {{33661000000000, 700000000}, {33660000000000, 600000000}};
    tg_level_t asks[1] = {{33668000000000, 900000000}};
    char text[256];
    uint32_t c = feed_okx_checksum_text(bids, 2, asks, 1, 10, 8, 0, 0, text, sizeof(text));
    assert_string_equal(text, "3366.1:7:3366.8:9:3366:6");
    assert_int_equal(c, feed_crc32(0, text, strlen(text)));
    /* only asks */
    feed_okx_checksum_text(NULL, 0, asks, 1, 10, 8, 0, 0, text, sizeof(text));
    assert_string_equal(text, "3366.8:9");
    /* padding hints: prices printed with 2 decimals */
    feed_okx_checksum_text(bids, 1, asks, 1, 10, 8, 2, 0, text, sizeof(text));
    assert_string_equal(text, "3366.10:7:3366.80:9");
    /* empty book */
    feed_okx_checksum_text(NULL, 0, NULL, 0, 10, 8, 0, 0, text, sizeof(text));
    assert_string_equal(text, "");
}

static void test_okx_numbers_print_exactly_like_tg_dec_format(void **state)
{
    /* random levels at several scales: the checksum text must be what tg_dec_format() (and
       tg_dec_format_fixed() for padded instruments) prints, joined as OKX does */
    uint64_t x = 88172645463325252ull;
    for (int it = 0; it < 20000; it++) {
        tg_rng_xorshift64(&x);
        int scale = (int)(x % 13), digits = (int)((x >> 8) % 4) * ((x >> 12) % 2 == 0);
        if (digits > scale)
            digits = scale;
        int64_t lim = scale <= 12 ? 1000000000000000LL : INT64_MAX / 4;
        tg_level_t b = {(int64_t)((x >> 16) % (uint64_t)lim), (int64_t)((x >> 3) % 1000000)};
        if (it % 7 == 0)
            b.price = (b.price / 1000) * 1000; /* trailing zeros */
        if (it % 11 == 0)
            b.size = 0;
        char got[256], want[256], p1[TG_DEC_STR_MAX], p2[TG_DEC_STR_MAX];
        feed_okx_checksum_text(&b, 1, NULL, 0, scale, scale, digits, digits, got, sizeof(got));
        if (digits > 0) {
            tg_dec_format_fixed(b.price, scale, digits, p1);
            tg_dec_format_fixed(b.size, scale, digits, p2);
        } else {
            tg_dec_format(b.price, scale, p1);
            tg_dec_format(b.size, scale, p2);
        }
        snprintf(want, sizeof(want), "%s:%s", p1, p2);
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_of_123456789_is_the_standard_check_value),
        cmocka_unit_test(test_crc32_matches_bitwise_reference_on_all_lengths_and_offsets),
        cmocka_unit_test(test_kraken_text_drops_point_and_leading_zeros_asks_first),
        cmocka_unit_test(test_kraken_text_keeps_digits_beyond_the_printed_decimals),
        cmocka_unit_test(test_okx_text_interleaves_bids_and_asks_with_uneven_sides),
        cmocka_unit_test(test_okx_numbers_print_exactly_like_tg_dec_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
