/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL binary encoders (see store_pg_enc.h): exact numeric from fixed point, timestamps,
 * intervals, numeric arrays, COPY BINARY framing. All integers go out big-endian.
 *
 * Numeric wire format (numeric_send in PostgreSQL's utils/adt/numeric.c): int16 ndigits,
 * int16 weight (base-10000 exponent of the first digit), int16 sign (0x0000 positive,
 * 0x4000 negative), int16 dscale (decimal digits after the point to display), then ndigits
 * int16 base-10000 digits, most significant first, with no leading or trailing zero digits.
 * Zero is ndigits = 0, weight = 0.
 */
#include "storage/pg/store_pg_enc.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_grow.h"

const uint8_t store_pg_copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                          0,   0,   0,   0,   0,   0,   0,    0,    0};
const uint8_t store_pg_copy_trailer[2] = {0xff, 0xff};

static const uint32_t pow10_u32[5] = {1, 10, 100, 1000, 10000};

static inline void be16(uint8_t *p, uint16_t v)
{
    v = htobe16(v);
    memcpy(p, &v, 2);
}

/*
 * Common tail: fractional groups in frac[0..nf) (least significant first) and integer groups
 * in intg[0..ni) (least significant first) -> wire bytes.
 */
static size_t emit(uint8_t *out, const uint16_t *intg, int ni, const uint16_t *frac, int nf,
                   int neg, int dscale)
{
    uint16_t d[24];
    int n = 0;
    for (int i = ni - 1; i >= 0; i--)
        d[n++] = intg[i];
    for (int i = nf - 1; i >= 0; i--)
        d[n++] = frac[i];
    int weight = ni - 1; /* weight of d[0] */
    int first = 0;
    while (first < n && d[first] == 0) {
        first++;
        weight--;
    }
    int last = n;
    while (last > first && d[last - 1] == 0)
        last--;
    int nd = last - first;
    if (nd == 0) {
        weight = 0;
        neg = 0;
    }
    be16(out, (uint16_t)nd);
    be16(out + 2, (uint16_t)(int16_t)weight);
    be16(out + 4, neg ? 0x4000 : 0x0000);
    be16(out + 6, (uint16_t)dscale);
    for (int i = 0; i < nd; i++)
        be16(out + 8 + 2 * i, d[first + i]);
    return 8 + 2 * (size_t)nd;
}

/*
 * The base-10000 digits of m (least significant first), aligned so that the decimal point,
 * scale = 4 * nf - pad digits up, falls between two of them: the lowest group carries pad zero
 * places. @return their count (the lowest pad group even when m is 0; none else for 0).
 */
static int groups64(uint64_t m, int pad, uint16_t *g)
{
    int n = 0;
    if (pad) {
        uint32_t k = pow10_u32[4 - pad];
        g[n++] = (uint16_t)((m % k) * pow10_u32[pad]);
        m /= k;
    }
    for (; m; m /= 10000)
        g[n++] = (uint16_t)(m % 10000);
    return n;
}

/* dscale: scale less the trailing decimal zeros of m's fraction (0 when the fraction is 0). */
static int dscale64(uint64_t m, int scale)
{
    int d = scale;
    for (; d > 0 && m % 10 == 0; m /= 10)
        d--;
    return d;
}

/* The n groups of groups64() at scale -> wire bytes: the (scale + 3) / 4 lowest are the
 * fraction (zeros added up to them), the rest the integer part. */
static size_t emit_groups(uint8_t *out, uint16_t *g, int n, int scale, int neg, int dscale)
{
    int nf = (scale + 3) / 4;
    while (n < nf)
        g[n++] = 0;
    return emit(out, g + nf, n - nf, g, nf, neg, dscale);
}

size_t store_pg_enc_numeric(uint8_t *out, int64_t v, int scale)
{
    int neg = v < 0;
    uint64_t m = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint16_t g[24];
    int n = groups64(m, (scale + 3) / 4 * 4 - scale, g);
    return emit_groups(out, g, n, scale, neg, dscale64(m, scale));
}

/* Wider values: the digits above 64 bits in 128-bit steps, the rest as for an int64. */
size_t store_pg_enc_numeric128(uint8_t *out, __int128 v, int scale)
{
    if (v >= INT64_MIN && v <= INT64_MAX && scale <= 18)
        return store_pg_enc_numeric(out, (int64_t)v, scale);
    int neg = v < 0;
    unsigned __int128 m = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    int d = scale;
    unsigned __int128 x = m;
    for (; d > 0 && x >> 64 && x % 10 == 0; x /= 10)
        d--;
    if (!(x >> 64))
        d = dscale64((uint64_t)x, d);
    uint16_t g[24];
    int n = 0, pad = (scale + 3) / 4 * 4 - scale;
    if (pad) {
        uint32_t k = pow10_u32[4 - pad];
        g[n++] = (uint16_t)((uint32_t)(m % k) * pow10_u32[pad]);
        m /= k;
    }
    for (; m >> 64; m /= 10000)
        g[n++] = (uint16_t)(m % 10000);
    n += groups64((uint64_t)m, 0, g + n);
    return emit_groups(out, g, n, scale, neg, d);
}

int store_pg_buf_reserve(store_pg_buf_t *b, size_t n)
{
    return tg_grow(&b->p, &b->cap, b->len + n, 1, 4096);
}

void store_pg_buf_free(store_pg_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void store_pg_put_i16(store_pg_buf_t *b, int16_t v)
{
    be16(b->p + b->len, (uint16_t)v);
    b->len += 2;
}

void store_pg_put_i32(store_pg_buf_t *b, int32_t v)
{
    uint32_t u = htobe32((uint32_t)v);
    memcpy(b->p + b->len, &u, 4);
    b->len += 4;
}

void store_pg_put_i64(store_pg_buf_t *b, int64_t v)
{
    uint64_t u = htobe64((uint64_t)v);
    memcpy(b->p + b->len, &u, 8);
    b->len += 8;
}

void store_pg_put_f_i64(store_pg_buf_t *b, int64_t v)
{
    store_pg_put_i32(b, 8);
    store_pg_put_i64(b, v);
}

void store_pg_put_f_i32(store_pg_buf_t *b, int32_t v)
{
    store_pg_put_i32(b, 4);
    store_pg_put_i32(b, v);
}

void store_pg_put_f_i16(store_pg_buf_t *b, int16_t v)
{
    store_pg_put_i32(b, 2);
    store_pg_put_i16(b, v);
}

void store_pg_put_f_null(store_pg_buf_t *b)
{
    store_pg_put_i32(b, -1);
}

void store_pg_put_f_ts(store_pg_buf_t *b, int64_t ns)
{
    store_pg_put_f_i64(b, store_pg_ts_from_ns(ns));
}

void store_pg_put_f_interval(store_pg_buf_t *b, int64_t ns)
{
    store_pg_put_i32(b, 16);
    store_pg_put_i64(b, ns / 1000);
    store_pg_put_i32(b, 0); /* days */
    store_pg_put_i32(b, 0); /* months */
}

void store_pg_put_f_numeric(store_pg_buf_t *b, int64_t v, int scale)
{
    size_t n = store_pg_enc_numeric(b->p + b->len + 4, v, scale);
    store_pg_put_i32(b, (int32_t)n);
    b->len += n;
}

void store_pg_put_f_numeric128(store_pg_buf_t *b, __int128 v, int scale)
{
    size_t n = store_pg_enc_numeric128(b->p + b->len + 4, v, scale);
    store_pg_put_i32(b, (int32_t)n);
    b->len += n;
}

void store_pg_put_f_numeric_array(store_pg_buf_t *b, const int64_t *vals, size_t stride, size_t n,
                                  int scale)
{
    size_t at = b->len;
    b->len += 4; /* field length, patched below */
    if (n == 0) {
        store_pg_put_i32(b, 0); /* ndim 0: empty array */
        store_pg_put_i32(b, 0); /* has nulls */
        store_pg_put_i32(b, STORE_PG_NUMERIC_OID);
    } else {
        store_pg_put_i32(b, 1);
        store_pg_put_i32(b, 0);
        store_pg_put_i32(b, STORE_PG_NUMERIC_OID);
        store_pg_put_i32(b, (int32_t)n); /* dimension length */
        store_pg_put_i32(b, 1);          /* lower bound */
        for (size_t i = 0; i < n; i++)
            store_pg_put_f_numeric(b, vals[i * stride], scale);
    }
    uint32_t len = htobe32((uint32_t)(b->len - at - 4));
    memcpy(b->p + at, &len, 4);
}
