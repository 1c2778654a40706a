/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the fixed-point decimals (book/tg_dec.h): hand-picked edge cases with values
 * worked out by hand, then property tests: millions of random decimal strings (valid, near the
 * int64 limit, with exponents, and corrupted) parsed by tg_dec_parse() and by a slow
 * reference parser written here independently (digit array + __int128), which must agree on
 * the error code and the value; and format -> parse round trips of random int64 values at
 * every scale, with the formatted text compared to an snprintf-based reference.
 *
 * TG_DEC_PROP_N (default 3000000) sets the number of random strings; TG_DEC_SEED the seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"

static int parse(const char *s, int scale, int64_t *v)
{
    *v = 0x7777;
    return tg_dec_parse(s, strlen(s), scale, v);
}

static void expect_ok(const char *s, int scale, int64_t want)
{
    int64_t v;
    int rc = parse(s, scale, &v);
    if (rc != 0 || v != want)
        print_error("parse(\"%s\", %d): rc %d v %lld, want %lld\n", s, scale, rc, (long long)v,
                    (long long)want);
    assert_int_equal(rc, 0);
    assert_true(v == want);
}

static void expect_err(const char *s, int scale, int err)
{
    int64_t v;
    int rc = parse(s, scale, &v);
    if (rc != err)
        print_error("parse(\"%s\", %d): rc %d, want %d\n", s, scale, rc, err);
    assert_int_equal(rc, err);
    assert_true(v == 0x7777); /* out untouched on error */
}

/* A text and the scale it is parsed at. */
typedef struct dec_in {
    const char *s;
    int scale;
} dec_in_t;

/* expect_err(in[i].s, in[i].scale, err) for each of the n rows. */
static void expect_errs(const dec_in_t *in, size_t n, int err)
{
    for (size_t i = 0; i < n; i++)
        expect_err(in[i].s, in[i].scale, err);
}

#define DEC_N(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse_accepts_exchange_forms(void **state)
{
    (void)state;
    expect_ok("61837.63000000", 8, 6183763000000LL);
    expect_ok("61837.63000000", 2, 6183763LL);
    expect_ok("0", 8, 0);
    expect_ok("-1.5", 8, -150000000LL);
    expect_ok("1e-05", 8, 1000LL);
    expect_ok("2.5E+3", 8, 250000000000LL);
    expect_ok("+3", 8, 300000000LL);
    expect_ok(".5", 8, 50000000LL);
    expect_ok("5.", 8, 500000000LL);
    expect_ok("-0", 8, 0);
    expect_ok("-0.000", 4, 0);
    expect_ok("0.00000001", 8, 1);
    expect_ok("00012.3400", 2, 1234);
    expect_ok("1E2", 0, 100);
    expect_ok("1e-0", 0, 1);
    expect_ok("12345e-3", 3, 12345);
    expect_ok("0.0e999999999999999999999", 8, 0);
    expect_ok("123456789012345678", 0, 123456789012345678LL);
    expect_ok("1.000000000000000000000000000000", 0, 1); /* zeros beyond scale are fine */
    expect_ok("3421.5", 8, 342150000000LL);
    expect_ok("0.12345678", 8, 12345678);
    expect_ok("12345678.12345678", 8, 1234567812345678LL);
}

/* Past the int64 range at their scale: TG_EDEC_RANGE. */
static const dec_in_t range_refused[] = {
    {"9223372036854775808", 0},
    /* documented: |v| <= INT64_MAX */
    {"-9223372036854775808", 0},
    {"92233720368.54775808", 8},
    {"10", 18},
    {"99999999999999999999", 0},
    {"1e19", 0},
    {"1e99999999999999999999", 0},
};

static void test_parse_reaches_int64_limits_exactly(void **state)
{
    (void)state;
    expect_ok("9223372036854775807", 0, INT64_MAX);
    expect_ok("-9223372036854775807", 0, -INT64_MAX);
    expect_ok("92233720368.54775807", 8, INT64_MAX);
    expect_ok("9.223372036854775807", 18, INT64_MAX);
    expect_ok("0.000000000000000001", 18, 1);
    expect_ok("9223372036854775807e-18", 18, INT64_MAX);
    expect_ok("9.223372036854775807e18", 0, INT64_MAX);
    expect_errs(range_refused, DEC_N(range_refused), TG_EDEC_RANGE);
}

/* More digits than their scale holds: TG_EDEC_PRECISION. */
static const dec_in_t finer_refused[] = {
    {"0.000000001", 8},
    {"61837.631", 2},
    {"61837.6300000000001", 2},
    {"1e-9", 8},
    {"0.5", 0},
    {"1e-99999999999999999999", 18},
    /* precision is reported before range when both apply */
    {"99999999999999999999.5", 0},
};

static void test_parse_refuses_digits_beyond_scale(void **state)
{
    (void)state;
    expect_errs(finer_refused, DEC_N(finer_refused), TG_EDEC_PRECISION);
}

static void test_parse_rejects_garbage_as_syntax(void **state)
{
    (void)state;
    const char *bad[] = {"",      "-",    "+",    ".",   "-.",    "+.",    "e5",  ".e5",  "1e",
                         "1e+",   "1e-",  "1.5x", " 1",  "1 ",    "1,5",   "--1", "+-1",  "1..2",
                         "1.2.3", "0x10", "nan",  "inf", "1e5.5", "1e+-5", "٣",   "1_000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_err(bad[i], 8, TG_EDEC_SYNTAX);
    int64_t v = 5;
    assert_int_equal(tg_dec_parse(NULL, 0, 8, &v), TG_EDEC_SYNTAX);
    /* length is honoured: text after len is not looked at */
    assert_int_equal(tg_dec_parse("12.5xyz", 4, 1, &v), 0);
    assert_true(v == 125);
    assert_int_equal(tg_dec_parse("12345678901234567", 3, 0, &v), 0);
    assert_true(v == 123);
}

static void test_parse_rejects_bad_scale_and_negative_when_unsigned(void **state)
{
    (void)state;
    int64_t v = 1;
    assert_int_equal(tg_dec_parse("1", 1, -1, &v), -EINVAL);
    assert_int_equal(tg_dec_parse("1", 1, 19, &v), -EINVAL);
    assert_int_equal(tg_dec_parse_unsigned("-1.5", 4, 8, &v), TG_EDEC_NEGATIVE);
    assert_int_equal(tg_dec_parse_unsigned("-0", 2, 8, &v), 0);
    assert_true(v == 0);
    assert_int_equal(tg_dec_parse_unsigned("1.5", 3, 8, &v), 0);
    assert_true(v == 150000000);
    assert_int_equal(tg_dec_parse_unsigned("x", 1, 8, &v), TG_EDEC_SYNTAX);
}

static void expect_fmt(int64_t v, int scale, const char *want)
{
    char buf[TG_DEC_STR_MAX];
    size_t n = tg_dec_format(v, scale, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void expect_fmt_fixed(int64_t v, int scale, int digits, const char *want)
{
    char buf[TG_DEC_STR_MAX];
    size_t n = tg_dec_format_fixed(v, scale, digits, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_format_strips_trailing_zeros_and_fixed_keeps_digits(void **state)
{
    (void)state;
    expect_fmt(6183763000000LL, 8, "61837.63");
    expect_fmt(1000, 8, "0.00001");
    expect_fmt(500000000, 8, "5");
    expect_fmt(-150000000, 8, "-1.5");
    expect_fmt(0, 8, "0");
    expect_fmt(42, 0, "42");
    expect_fmt(INT64_MAX, 18, "9.223372036854775807");
    expect_fmt(INT64_MIN, 18, "-9.223372036854775808");
    expect_fmt(INT64_MIN, 0, "-9223372036854775808");
    expect_fmt(-1, 18, "-0.000000000000000001");
    expect_fmt_fixed(6183763000000LL, 8, 8, "61837.63000000");
    expect_fmt_fixed(6183763000000LL, 8, 2, "61837.63");
    expect_fmt_fixed(6183763000000LL, 8, 1, "61837.63"); /* not representable: keeps digits */
    expect_fmt_fixed(6183763000000LL, 8, 0, "61837.63");
    expect_fmt_fixed(500000000, 8, 0, "5");
    expect_fmt_fixed(500000000, 8, 3, "5.000");
    expect_fmt_fixed(0, 8, 4, "0.0000");
    expect_fmt_fixed(-1, 18, 18, "-0.000000000000000001");
    expect_fmt_fixed(5, 0, 3, "5"); /* digits beyond the scale are clamped to the scale */
}

static void test_rescale_is_exact_or_refuses(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(tg_dec_rescale(6183763, 2, 8, &v), 0);
    assert_true(v == 6183763000000LL);
    assert_int_equal(tg_dec_rescale(6183763000000LL, 8, 2, &v), 0);
    assert_true(v == 6183763);
    assert_int_equal(tg_dec_rescale(6183763000001LL, 8, 2, &v), TG_EDEC_PRECISION);
    assert_int_equal(tg_dec_rescale(-150, 2, 1, &v), 0);
    assert_true(v == -15);
    assert_int_equal(tg_dec_rescale(-155, 2, 1, &v), TG_EDEC_PRECISION);
    assert_int_equal(tg_dec_rescale(INT64_MAX, 0, 1, &v), TG_EDEC_RANGE);
    assert_int_equal(tg_dec_rescale(-922337203685477580LL, 0, 1, &v), 0);
    assert_true(v == -9223372036854775800LL);
    assert_int_equal(tg_dec_rescale(1, 0, 18, &v), 0);
    assert_true(v == tg_dec_pow10[18]);
    assert_int_equal(tg_dec_rescale(1, 0, 19, &v), -EINVAL);
    assert_int_equal(tg_dec_rescale(1, -1, 0, &v), -EINVAL);
    assert_int_equal(tg_dec_rescale(77, 5, 5, &v), 0);
    assert_true(v == 77);
}

static void test_pow10_table_is_powers_of_ten(void **state)
{
    (void)state;
    int64_t p = 1;
    for (int i = 0; i <= 18; i++) {
        assert_true(tg_dec_pow10[i] == p);
        if (i < 18)
            p *= 10;
    }
}

/* ---- property tests ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : def;
}

/* Reference: validate with a plain grammar walk, keep every mantissa digit in an array, place
 * the decimal point at (digits before '.') + exponent + scale, demand zeros after it, and
 * accumulate the digits before it in __int128 with a saturating bound. */
static int ref_parse(const char *s, size_t len, int scale, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    static char dig[4096];
    size_t nd = 0, before_point = 0;
    bool point = false;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (nd < sizeof(dig))
                dig[nd] = c;
            nd++;
            if (!point)
                before_point++;
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (nd == 0)
        return TG_EDEC_SYNTAX;
    long long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000000)
                exp = exp * 10 + (s[i] - '0');
        if (i == start)
            return TG_EDEC_SYNTAX;
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return TG_EDEC_SYNTAX;
    assert_true(nd <= sizeof(dig));
    long long pos = (long long)before_point + exp + scale; /* digits left of the new point */
    for (long long k = pos < 0 ? 0 : pos; k < (long long)nd; k++)
        if (dig[k] != '0')
            return TG_EDEC_PRECISION;
    __int128 acc = 0;
    for (long long k = 0; k < pos; k++) {
        int d = k < (long long)nd ? dig[k] - '0' : 0;
        acc = acc * 10 + d;
        if (acc > INT64_MAX)
            return TG_EDEC_RANGE;
        if (acc == 0 && k >= (long long)nd)
            break; /* only zeros left */
    }
    *out = neg ? -(int64_t)acc : (int64_t)acc;
    return 0;
}

static size_t gen_digits(char *p, int n, int zero_pct)
{
    for (int i = 0; i < n; i++)
        p[i] = (int)(rnd() % 100) < zero_pct ? '0' : (char)('0' + rnd() % 10);
    return (size_t)n;
}

/* Random decimal text: mostly exchange-like, some near the limits, some corrupted. */
static size_t gen_string(char *buf)
{
    static const int lens[] = {0, 1, 1, 2, 3, 5, 8, 9, 10, 11, 12, 17, 18, 19, 20, 25};
    size_t n = 0;
    if (rnd() % 4 == 0)
        buf[n++] = rnd() % 2 ? '-' : '+';
    n += gen_digits(buf + n, lens[rnd() % 16], (int)(rnd() % 60));
    if (rnd() % 10 < 7) {
        buf[n++] = '.';
        n += gen_digits(buf + n, lens[rnd() % 16], (int)(rnd() % 80));
    }
    if (rnd() % 6 == 0) {
        buf[n++] = rnd() % 2 ? 'e' : 'E';
        if (rnd() % 3)
            buf[n++] = rnd() % 2 ? '-' : '+';
        static const int exps[] = {0, 1, 2, 5, 8, 9, 10, 17, 18, 19, 20, 30, 400};
        n += (size_t)sprintf(buf + n, "%d", exps[rnd() % 13]);
    }
    if (rnd() % 30 == 0) { /* corrupt: insert, delete or replace one byte */
        static const char junk[] = "x .e-+0\t,";
        size_t at = n ? (size_t)(rnd() % (n + 1)) : 0;
        switch (rnd() % 3) {
        case 0:
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = junk[rnd() % (sizeof(junk) - 1)];
            n++;
            break;
        case 1:
            if (at < n) {
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
            break;
        default:
            if (at < n)
                buf[at] = junk[rnd() % (sizeof(junk) - 1)];
        }
    }
    buf[n] = '\0';
    return n;
}

static void test_parse_agrees_with_reference_on_random_strings(void **state)
{
    (void)state;
    rng_state = env_u64("TG_DEC_SEED", 0x9e3779b97f4a7c15ULL) | 1;
    uint64_t n = env_u64("TG_DEC_PROP_N", 3000000);
    uint64_t counts[5] = {0};
    char buf[160];
    for (uint64_t i = 0; i < n; i++) {
        size_t len = gen_string(buf);
        int scale = (int)(rnd() % 19);
        int64_t a = 0x1111, b = 0x1111;
        int ra = tg_dec_parse(buf, len, scale, &a);
        int rb = ref_parse(buf, len, scale, &b);
        if (ra != rb || a != b) {
            print_error("\"%s\" scale %d: tg_dec %d/%lld, reference %d/%lld\n", buf, scale, ra,
                        (long long)a, rb, (long long)b);
            fail();
        }
        counts[ra == 0 ? 0 : -ra - 3999]++;
    }
    printf("# %llu strings: %llu ok, %llu syntax, %llu range, %llu precision\n",
           (unsigned long long)n, (unsigned long long)counts[0], (unsigned long long)counts[1],
           (unsigned long long)counts[2], (unsigned long long)counts[3]);
    /* the generator must exercise every outcome */
    if (n >= 100000)
        for (int k = 0; k < 4; k++)
            assert_true(counts[k] > n / 200);
}

/* snprintf-based reference formatter. */
static void ref_format(int64_t v, int scale, int digits, char *out)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = (uint64_t)tg_dec_pow10[scale];
    char frac[32];
    snprintf(frac, sizeof(frac), "%0*llu", scale, (unsigned long long)(u % p));
    int keep = scale;
    while (keep > digits && frac[keep - 1] == '0')
        keep--;
    frac[keep] = '\0';
    sprintf(out, "%s%llu%s%s", v < 0 ? "-" : "", (unsigned long long)(u / p), keep ? "." : "",
            frac);
}

static void test_format_then_parse_round_trips_every_scale(void **state)
{
    (void)state;
    rng_state = env_u64("TG_DEC_SEED", 0x243f6a8885a308d3ULL) | 1;
    uint64_t n = env_u64("TG_DEC_PROP_N", 3000000) / 3;
    char buf[TG_DEC_STR_MAX], ref[64], padded[96];
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        switch (rnd() % 4) {
        case 0:
            v = (int64_t)rnd(); /* anywhere, including INT64_MIN territory */
            break;
        case 1:
            v = (int64_t)(rnd() % 100000000000ULL) * (rnd() % 2 ? 1 : -1);
            break;
        case 2:
            v = (int64_t)(rnd() % 1000) * tg_dec_pow10[rnd() % 16];
            break;
        default:
            v = rnd() % 2 ? INT64_MAX - (int64_t)(rnd() % 1000)
                          : -INT64_MAX + (int64_t)(rnd() % 1000);
        }
        int scale = (int)(rnd() % 19);
        int digits = (int)(rnd() % (unsigned)(scale + 1));
        size_t len = tg_dec_format(v, scale, buf);
        ref_format(v, scale, 0, ref);
        assert_string_equal(buf, ref);
        assert_true(len < TG_DEC_STR_MAX);
        int64_t back = 0;
        if (v == INT64_MIN) {
            assert_int_equal(tg_dec_parse(buf, len, scale, &back), TG_EDEC_RANGE);
            continue;
        }
        assert_int_equal(tg_dec_parse(buf, len, scale, &back), 0);
        assert_true(back == v);
        len = tg_dec_format_fixed(v, scale, digits, buf);
        ref_format(v, scale, digits, ref);
        assert_string_equal(buf, ref);
        assert_int_equal(tg_dec_parse(buf, len, scale, &back), 0);
        assert_true(back == v);
        /* venues pad with zeros beyond our scale: still the same value */
        int pad = (int)(rnd() % 12);
        int m = snprintf(padded, sizeof(padded), "%s%s%.*s", buf, strchr(buf, '.') ? "" : ".", pad,
                         "000000000000");
        assert_int_equal(tg_dec_parse(padded, (size_t)m, scale, &back), 0);
        assert_true(back == v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_exchange_forms),
        cmocka_unit_test(test_parse_reaches_int64_limits_exactly),
        cmocka_unit_test(test_parse_refuses_digits_beyond_scale),
        cmocka_unit_test(test_parse_rejects_garbage_as_syntax),
        cmocka_unit_test(test_parse_rejects_bad_scale_and_negative_when_unsigned),
        cmocka_unit_test(test_format_strips_trailing_zeros_and_fixed_keeps_digits),
        cmocka_unit_test(test_rescale_is_exact_or_refuses),
        cmocka_unit_test(test_pow10_table_is_powers_of_ten),
        cmocka_unit_test(test_parse_agrees_with_reference_on_random_strings),
        cmocka_unit_test(test_format_then_parse_round_trips_every_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
