/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL binary wire encoders for the COPY writer: numeric straight from int64 (or
 * __int128) fixed point, timestamptz, interval, one-dimensional numeric arrays, and a growable
 * byte buffer that holds COPY BINARY tuples. No text and no double on the way: a value v at
 * scale s is cut into base-10000 digit groups aligned on the decimal point, exactly as
 * PostgreSQL's numeric_send() would produce for the same value.
 *
 * Display scale: the encoder writes the smallest dscale that keeps every significant digit
 * (trailing fractional zeros dropped), so 6183763000000 at scale 8 reads back as 61837.63,
 * the same text tg_dec_format() prints.
 *
 * Thread: any (pure functions; a buffer belongs to one thread).
 */
#ifndef STORE_PG_ENC_H
#define STORE_PG_ENC_H

#include <stddef.h>
#include <stdint.h>

/** Largest encoded numeric (header 8 bytes + up to 12 base-10000 digits of an int128). */
#define STORE_PG_NUMERIC_MAX 40
/** PostgreSQL type oid of numeric (array element type). */
#define STORE_PG_NUMERIC_OID 1700
/** Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01 UTC). */
#define STORE_PG_EPOCH_DIFF_US 946684800000000LL

/**
 * Encode v / 10^scale as PostgreSQL binary numeric (the value bytes, without the int32 length).
 * @param out   At least STORE_PG_NUMERIC_MAX bytes.
 * @param scale 0..18.
 * @return bytes written (8 + 2 * ndigits).  Thread: any. Never allocates.
 */
size_t store_pg_enc_numeric(uint8_t *out, int64_t v, int scale);

/** Same for a 128-bit value at scale 0..38 (candle notional).  Thread: any. */
size_t store_pg_enc_numeric128(uint8_t *out, __int128 v, int scale);

/** Unix-epoch nanoseconds -> PostgreSQL timestamp microseconds (floor).  Thread: any. */
static inline int64_t store_pg_ts_from_ns(int64_t ns)
{
    int64_t us = ns / 1000;
    if (ns % 1000 < 0)
        us -= 1;
    return us - STORE_PG_EPOCH_DIFF_US;
}

/** Growable byte buffer (COPY tuples). Owned by one thread.  Thread: owner. */
typedef struct store_pg_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} store_pg_buf_t;

/** Make room for n more bytes. @return 0 or -ENOMEM.  Thread: owner. */
int store_pg_buf_reserve(store_pg_buf_t *b, size_t n);
/** Free the storage; the buffer is empty and reusable afterwards.  Thread: owner. */
void store_pg_buf_free(store_pg_buf_t *b);

/* Unchecked writers: the caller reserved the room first (store_pg_buf_reserve). */
void store_pg_put_i16(store_pg_buf_t *b, int16_t v);
void store_pg_put_i32(store_pg_buf_t *b, int32_t v);
void store_pg_put_i64(store_pg_buf_t *b, int64_t v);
/** Field: int32 length 8 + int64 big-endian (bigint, timestamptz).  Thread: owner. */
void store_pg_put_f_i64(store_pg_buf_t *b, int64_t v);
/** Field: int32 length 4 + int32.  Thread: owner. */
void store_pg_put_f_i32(store_pg_buf_t *b, int32_t v);
/** Field: int32 length 2 + int16.  Thread: owner. */
void store_pg_put_f_i16(store_pg_buf_t *b, int16_t v);
/** Field: NULL (length -1).  Thread: owner. */
void store_pg_put_f_null(store_pg_buf_t *b);
/** Field: timestamptz from Unix-epoch ns.  Thread: owner. */
void store_pg_put_f_ts(store_pg_buf_t *b, int64_t ns);
/** Field: interval of ns (microsecond precision; days = months = 0).  Thread: owner. */
void store_pg_put_f_interval(store_pg_buf_t *b, int64_t ns);
/** Field: numeric v / 10^scale. Reserve STORE_PG_NUMERIC_MAX + 4.  Thread: owner. */
void store_pg_put_f_numeric(store_pg_buf_t *b, int64_t v, int scale);
/** Field: numeric from an int128.  Thread: owner. */
void store_pg_put_f_numeric128(store_pg_buf_t *b, __int128 v, int scale);
/**
 * Field: numeric[] of n values taken every `stride` int64s from `vals` (so a tg_level_t array
 * gives its prices with stride 2). Reserve 24 + n * (STORE_PG_NUMERIC_MAX + 4).
 * Thread: owner.
 */
void store_pg_put_f_numeric_array(store_pg_buf_t *b, const int64_t *vals, size_t stride, size_t n,
                                  int scale);

/** The 19-byte COPY BINARY header and the 2-byte trailer. */
extern const uint8_t store_pg_copy_header[19];
extern const uint8_t store_pg_copy_trailer[2];

#endif
