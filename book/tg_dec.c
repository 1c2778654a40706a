/* SPDX-License-Identifier: MIT */
/*
 * Exact decimal text <-> int64 fixed point (tg_dec.h). No double anywhere.
 *
 * DESIGN
 * tg_dec_parse() has fast paths for the shape exchanges send almost always: optional sign,
 * digits, optional '.', digits, no exponent, and few enough integer digits that the result
 * cannot overflow (integer digits + scale <= 18):
 *  - text shorter than 8 bytes (after the sign): one tight loop over digits and '.', then one
 *    multiplication by 10^(scale - fractional digits), or a division whose remainder must be
 *    zero when the text has more fractional digits than the scale;
 *  - longer text: on a little-endian machine, eight digits at a time with a SWAR multiply
 *    (three multiplications per 8 digits), otherwise one digit a step; fractional digits
 *    beyond the scale must be '0' (checked 8 at a time as well).
 *    Alternatives measured on exchange strings (tools/bench plus an interleaved A/B harness,
 *    2026-11): one plain loop for all lengths, bounded byte loops, and overlapping loads for
 *    short tails. The combination here was best on all three string sets (recordings in
 *    file order, shuffled, synthetic venue messages) by 4-18%.
 *  - a general path for everything else (exponents, leading zeros that push the digit count
 *    past the fast limit, values near the int64 limit, every error). It validates the syntax
 *    first, then locates the first and last non-zero significant digits and derives, from their
 *    decimal weights, whether the value has digits below 10^-scale (TG_EDEC_PRECISION) or above
 *    10^18 at the target scale (TG_EDEC_RANGE) before accumulating at most 19 digits into a
 *    uint64. Errors therefore have a fixed precedence: syntax, then precision, then range.
 *
 * Range: |v| <= INT64_MAX at the requested scale; INT64_MIN is never produced by the parser
 * (it is TG_EDEC_RANGE), which keeps negation exact. The formatters accept every int64.
 *
 * Thread: any (pure functions, no state).
 */
#include "tg_dec.h"

#include <stdbool.h>
#include <string.h>

#include "tg_clamp.h"
#include "tg_err.h"

const int64_t tg_dec_pow10[19] = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

static inline bool dec_isdigit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

/* Exponents are clamped to this magnitude: any larger one is out of range (or pure
 * precision loss) for every input shorter than ~10^12 bytes, and the clamp keeps the weight
 * arithmetic below in int64 without overflow. */
#define DEC_EXP_CLAMP 1000000000000LL

/* General path: any accepted syntax, every error. */
static int dec_parse_slow(const unsigned char *p, const unsigned char *end, int scale, int64_t *out)
{
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    /* Pass 1: syntax, digit counts, first and last non-zero digit. */
    const unsigned char *first = NULL, *last = NULL; /* non-zero digits */
    int64_t nint = 0, nfrac = 0;
    int64_t first_idx = 0, last_idx = 0; /* indexes into the digit sequence (point skipped) */
    while (p < end && dec_isdigit(*p)) {
        if (*p != '0') {
            if (!first) {
                first = p;
                first_idx = nint;
            }
            last = p;
            last_idx = nint;
        }
        nint++;
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && dec_isdigit(*p)) {
            if (*p != '0') {
                if (!first) {
                    first = p;
                    first_idx = nint + nfrac;
                }
                last = p;
                last_idx = nint + nfrac;
            }
            nfrac++;
            p++;
        }
    }
    if (nint + nfrac == 0)
        return TG_EDEC_SYNTAX; /* empty, lone sign, lone point, or starts with garbage */
    int64_t exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || !dec_isdigit(*p))
            return TG_EDEC_SYNTAX;
        while (p < end && dec_isdigit(*p)) {
            if (exp < DEC_EXP_CLAMP)
                exp = exp * 10 + (*p - '0');
            p++;
        }
        if (exp > DEC_EXP_CLAMP)
            exp = DEC_EXP_CLAMP;
        if (eneg)
            exp = -exp;
    }
    if (p != end)
        return TG_EDEC_SYNTAX;
    if (!first) {
        *out = 0; /* all digits zero, whatever the exponent ("-0.0e99") */
        return 0;
    }
    /* Weight of digit index i at the target scale: 10^(nint - 1 - i + exp + scale). */
    int64_t w_first = nint - 1 - first_idx + exp + scale;
    int64_t w_last = nint - 1 - last_idx + exp + scale;
    if (w_last < 0)
        return TG_EDEC_PRECISION;
    if (w_first > 18)
        return TG_EDEC_RANGE;
    /* Pass 2: at most 19 significant digits (w_first - w_last + 1 <= 19), so m < 10^19. */
    uint64_t m = 0;
    for (const unsigned char *q = first; q <= last; q++)
        if (*q != '.')
            m = m * 10 + (uint64_t)(*q - '0');
    /* m * 10^w_last < 10^(w_first + 1) <= 10^19 < 2^64: no uint64 overflow. */
    m *= (uint64_t)tg_dec_pow10[w_last];
    if (m > (uint64_t)INT64_MAX)
        return TG_EDEC_RANGE;
    *out = neg ? -(int64_t)m : (int64_t)m;
    return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DEC_SWAR 1
#define DEC_ONES 0x0101010101010101ULL

/* Number of leading ASCII digits (0..8) in the 8 bytes x (first byte in the low bits). */
static inline unsigned dec_swar_ndigits(uint64_t x)
{
    /* A byte b is a digit iff its high nibble is 3 and b + 6 still has high nibble 3. A carry
     * out of a non-digit byte can only disturb bytes after the first non-digit. */
    uint64_t bad = ((x & (0xF0 * DEC_ONES)) ^ (0x30 * DEC_ONES)) |
                   (((x + 0x06 * DEC_ONES) & (0xF0 * DEC_ONES)) ^ (0x30 * DEC_ONES));
    if (!bad)
        return 8;
    return (unsigned)__builtin_ctzll(bad) >> 3;
}

/* The next SWAR word: the 8 bytes at p into *x (first byte in the low bits) when at least 8
 * remain before end. @return the number of leading digits among them (1..8); 0 when fewer
 * than 8 bytes remain or p is not at a digit (the byte loops take over). */
static inline unsigned dec_swar_next(const unsigned char *p, const unsigned char *end, uint64_t *x)
{
    if ((size_t)(end - p) < 8)
        return 0;
    memcpy(x, p, 8);
    return dec_swar_ndigits(*x);
}

/* Value of the 8 digit bytes x (already minus '0' in every byte), most significant first. */
static inline uint64_t dec_swar_value(uint64_t x)
{
    /* Pairs: byte 2i becomes 10*d(2i) + d(2i+1) (<= 99, no carry between lanes). */
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFULL;
    /* Quads: 16-bit lane becomes 100*pair + next pair (<= 9999). */
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFULL;
    /* Eight: 10000*quad + next quad (<= 99999999). */
    x = (x * 10000 + (x >> 32)) & 0xFFFFFFFFULL;
    return x;
}

/* Value of the first k (1..8) digits of x (raw ASCII bytes). */
static inline uint64_t dec_swar_prefix(uint64_t x, unsigned k)
{
    x -= 0x30 * DEC_ONES; /* bytes < k are 0..9: no borrow crosses into them */
    x <<= (8 - k) * 8;    /* drop bytes >= k, leading zero digits appear in their place */
    return dec_swar_value(x);
}
#else
#define DEC_SWAR 0
#endif

/* Fast path for short text (< 8 bytes after the sign, too short for a SWAR load): one loop
 * over digits and at most one '.', so the only data-dependent branch is the digit test and
 * the loop exits once. With < 8 digits nothing can overflow before the scale is applied.
 * Anything unusual goes to the general path with the whole text s. */
static inline int dec_parse_short(const unsigned char *p, const unsigned char *end, bool neg,
                                  int scale, int64_t *out, const char *s)
{
    const unsigned char *const start = p;
    const unsigned char *dot = NULL;
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)*p - '0';
        if (d < 10)
            v = v * 10 + d;
        else if (*p == '.' && !dot)
            dot = p;
        else
            goto slow; /* exponent, second point, garbage */
    }
    size_t nd = (size_t)(end - start) - (dot != NULL); /* digits, leading zeros included */
    if (nd == 0)
        goto slow; /* "", "-", ".": the general path reports the syntax error */
    size_t nfrac = dot ? (size_t)(end - dot - 1) : 0;
    if (nfrac <= (size_t)scale) {
        /* integer digits + scale <= 18 keeps v * 10^(scale - nfrac) below 10^18 */
        if (nd - nfrac + (size_t)scale > 18)
            goto slow;
        v *= (uint64_t)tg_dec_pow10[(size_t)scale - nfrac];
    } else {
        /* more fractional digits than the scale: the extra ones must be zeros */
        uint64_t div = (uint64_t)tg_dec_pow10[nfrac - (size_t)scale];
        if (v % div != 0)
            return TG_EDEC_PRECISION; /* the syntax is already known to be valid */
        v /= div;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
slow:
    return dec_parse_slow((const unsigned char *)s, end, scale, out);
}

int tg_dec_parse(const char *s, size_t len, int scale, int64_t *out)
{
    if ((unsigned)scale > TG_DEC_SCALE_MAX || !out)
        return -EINVAL;
    if (!s)
        return TG_EDEC_SYNTAX;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *const end = p + len;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (end - p < 8)
        return dec_parse_short(p, end, neg, scale, out, s);
    const unsigned char *const ip = p;
    uint64_t v = 0;
    /* Integer digits: at most 18 - scale of them keep v * 10^scale below 10^18. */
    size_t int_max = (size_t)(18 - scale);
#if DEC_SWAR
    uint64_t x;
    for (unsigned k; (k = dec_swar_next(p, end, &x)) > 0;) {
        v = v * (uint64_t)tg_dec_pow10[k] + dec_swar_prefix(x, k);
        p += k;
        if (k < 8 || (size_t)(p - ip) > int_max)
            break;
    }
#endif
    while (p < end && dec_isdigit(*p)) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        if ((size_t)(p - ip) > int_max)
            break;
    }
    size_t nint = (size_t)(p - ip);
    if (nint > int_max)
        goto slow;
    unsigned room = (unsigned)scale; /* fractional digits still to take */
    if (p < end && *p == '.') {
        p++;
        const unsigned char *const fp = p;
#if DEC_SWAR
        for (unsigned k; (k = dec_swar_next(p, end, &x)) > 0;) {
            unsigned take = k < room ? k : room;
            if (take > 0) {
                v = v * (uint64_t)tg_dec_pow10[take] + dec_swar_prefix(x, take);
                room -= take;
            }
            if (take < k) {
                /* Digits take..k-1 lie beyond the scale: they must all be '0'. */
                uint64_t z = (x ^ (0x30 * DEC_ONES)) >> (take * 8);
                if (k - take < 8)
                    z &= (1ULL << ((k - take) * 8)) - 1;
                if (z)
                    goto slow;
            }
            p += k;
            if (k < 8)
                break;
        }
#endif
        while (p < end && dec_isdigit(*p)) {
            if (!tg_dec_frac_digit(&v, &room, *p))
                goto slow;
            p++;
        }
        if (nint == 0 && p == fp)
            goto slow; /* "." or "-.": the general path reports the syntax error */
    } else if (nint == 0) {
        goto slow;
    }
    if (p != end)
        goto slow; /* exponent, garbage */
    v *= (uint64_t)tg_dec_pow10[room];
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
slow:
    return dec_parse_slow((const unsigned char *)s, end, scale, out);
}

int tg_dec_parse_unsigned(const char *s, size_t len, int scale, int64_t *out)
{
    int64_t v;
    int rc = tg_dec_parse(s, len, scale, &v);
    if (rc < 0)
        return rc;
    if (v < 0)
        return TG_EDEC_NEGATIVE;
    *out = v;
    return 0;
}

/* Write the decimal digits of u (no sign) to buf; return the count. */
static size_t dec_utoa(uint64_t u, char *buf)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* Format with at least min_digits (clamped to 0..scale) fractional digits; trailing zeros
 * beyond min_digits are dropped. Longest output: sign, 19 digits, point = 21 bytes + NUL. */
static size_t dec_format(int64_t v, int scale, int min_digits, char *buf)
{
    scale = tg_clamp_int(scale, 0, TG_DEC_SCALE_MAX);
    min_digits = tg_clamp_int(min_digits, 0, scale); /* keeps the text within TG_DEC_STR_MAX */
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        buf[n++] = '-';
    uint64_t p10 = (uint64_t)tg_dec_pow10[scale];
    uint64_t ip = u / p10, fp = u % p10;
    n += dec_utoa(ip, buf + n);
    int nd = scale; /* fractional digits needed */
    while (nd > 0 && fp % 10 == 0) {
        fp /= 10;
        nd--;
    }
    int width = nd > min_digits ? nd : min_digits;
    if (width > 0) {
        buf[n++] = '.';
        /* fp has nd digits (with leading zeros) */
        for (int i = nd - 1; i >= 0; i--) {
            buf[n + (size_t)i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        n += (size_t)nd;
        for (int i = nd; i < width; i++)
            buf[n++] = '0';
    }
    buf[n] = '\0';
    return n;
}

size_t tg_dec_format(int64_t v, int scale, char *buf)
{
    return dec_format(v, scale, 0, buf);
}

size_t tg_dec_format_fixed(int64_t v, int scale, int digits, char *buf)
{
    return dec_format(v, scale, digits, buf);
}

int tg_dec_rescale(int64_t v, int from, int to, int64_t *out)
{
    if ((unsigned)from > TG_DEC_SCALE_MAX || (unsigned)to > TG_DEC_SCALE_MAX)
        return -EINVAL;
    if (to >= from) {
        int64_t r;
        if (__builtin_mul_overflow(v, tg_dec_pow10[to - from], &r))
            return TG_EDEC_RANGE;
        *out = r;
        return 0;
    }
    int64_t d = tg_dec_pow10[from - to];
    if (v % d != 0)
        return TG_EDEC_PRECISION;
    *out = v / d;
    return 0;
}

int tg_dec_places(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    /* value = digits x 10^(exp - frac); trailing zeros of the digits lower the places */
    long frac = 0, zeros = 0;
    bool point = false, digits = false, nonzero = false;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            digits = true;
            frac += point;
            if (c == '0') {
                zeros++;
            } else {
                zeros = 0;
                nonzero = true;
            }
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (!digits)
        return TG_EDEC_SYNTAX;
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool neg = false;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            neg = s[i++] == '-';
        if (i == len)
            return TG_EDEC_SYNTAX;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return TG_EDEC_SYNTAX;
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        }
        if (neg)
            exp = -exp;
    }
    if (i != len)
        return TG_EDEC_SYNTAX;
    if (!nonzero)
        return 0;
    long places = frac - exp - zeros;
    if (places < 0)
        return 0;
    return places > 1000 ? 1000 : (int)places;
}
