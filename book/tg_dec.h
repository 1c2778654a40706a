/* SPDX-License-Identifier: MIT */
/*
 * Exact fixed-point decimals. A value v at scale s (0..18) stands for v / 10^s. Decimal text
 * from exchanges ("61837.63000000", "0", "-1.5", "1e-05", "2.5E+3") is converted straight to
 * int64 without ever going through double. Range: |v| <= INT64_MAX (9223372036854775807), so at
 * scale 8 the magnitude limit is 92233720368.54775807, at scale 2 92233720368547758.07 and at
 * scale 18 9.223372036854775807; the parser never returns INT64_MIN (it is TG_EDEC_RANGE), the
 * formatters accept every int64. A value that does not fit is TG_EDEC_RANGE; a value with
 * more non-zero fractional digits than the scale is TG_EDEC_PRECISION (never rounded);
 * trailing zeros beyond the scale are accepted. When both apply, the order is syntax, then
 * precision, then range. Exponents of any size are accepted ("0e999999" is 0).
 *
 * Thread: any (pure functions).
 */
#ifndef TG_DEC_H
#define TG_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_DEC_SCALE_MAX 18
/* Longest text tg_dec_format() writes: sign, 19 digits, point, leading "0.", NUL. */
#define TG_DEC_STR_MAX 24

/**
 * Parse decimal text to fixed-point.
 * @param s     Text, not necessarily NUL-terminated (borrowed).
 * @param len   Length of s in bytes. Leading/trailing blanks are not accepted.
 * @param scale Fractional digits of the result, 0..TG_DEC_SCALE_MAX.
 * @param out   Written only on success.
 * @return 0; TG_EDEC_SYNTAX (empty, garbage, lone sign/point); TG_EDEC_RANGE (does not fit);
 *         TG_EDEC_PRECISION (too many non-zero fractional digits); -EINVAL (bad scale).
 *         Accepted: optional sign, digits with optional '.', optional exponent e/E[+-]digits.
 * Thread: any. Never allocates.
 */
int tg_dec_parse(const char *s, size_t len, int scale, int64_t *out);

/** As tg_dec_parse() but rejects negative values with TG_EDEC_NEGATIVE. */
int tg_dec_parse_unsigned(const char *s, size_t len, int scale, int64_t *out);

/**
 * Format a fixed-point value as exact decimal text, trailing fractional zeros removed
 * ("61837.63", "0.00001", "5", "-1.5").
 * @param buf  At least TG_DEC_STR_MAX bytes; NUL-terminated on return.
 * @return Length written (without the NUL).  Thread: any.
 */
size_t tg_dec_format(int64_t v, int scale, char *buf);

/** As tg_dec_format() but always with exactly `digits` fractional digits (0..scale; larger
 *  values are clamped to scale), dropping only zeros (the value must be representable;
 *  otherwise extra digits are kept).
 *  Used to reproduce a venue's own text, e.g. for checksums. */
size_t tg_dec_format_fixed(int64_t v, int scale, int digits, char *buf);

/** Rescale v from scale `from` to scale `to` exactly. @return 0, TG_EDEC_RANGE or
 *  TG_EDEC_PRECISION (would drop non-zero digits); -EINVAL if a scale is outside 0..18. */
int tg_dec_rescale(int64_t v, int from, int to, int64_t *out);

/** Fractional places the value of decimal text needs to be exact (trailing zeros and the
 *  exponent taken into account: "0.00000074408" 11, "1.50" 1, "2.5E+3" 0, "1e-12" 12); capped
 *  at 1000. @return places, or TG_EDEC_SYNTAX. Checks syntax only (not the range).
 *  Thread: any. */
int tg_dec_places(const char *s, size_t len);

/** 10^n for n in 0..18. */
extern const int64_t tg_dec_pow10[19];

/** One fractional digit c ('0'..'9') of a value being read at a scale, for the fast paths
 *  that must agree with tg_dec_parse() (its own, feed_binance_scan's): while *room (the
 *  fraction digits the scale still holds) lasts, c goes into *v; past it only a '0' keeps the
 *  value exact. @return false for a non-zero digit past the scale (left to the general path,
 *  which reports it).  Thread: any. */
static inline bool tg_dec_frac_digit(uint64_t *v, unsigned *room, unsigned char c)
{
    if (*room > 0) {
        *v = *v * 10 + (uint64_t)(c - '0');
        (*room)--;
        return true;
    }
    return c == '0';
}

#endif
