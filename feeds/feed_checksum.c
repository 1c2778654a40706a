/* SPDX-License-Identifier: MIT */
/*
 * Venue book checksums: CRC-32 and the Kraken v1 / OKX v5 checksum texts (feed_checksum.h).
 *
 * The texts are built in a stack buffer (at most 2 x 25 levels x 2 numbers x 24 bytes), then
 * hashed with a slicing-by-8 table CRC-32 (the base table is the standard reflected 0xEDB88320
 * one, generated offline; feed_crc32() equals zlib's crc32()). Kraken numbers are integers once the
 * point is removed, so they are printed from the fixed-point value rescaled to the venue's
 * decimals without going through text formatting; a value with more digits than the venue's
 * decimals (cannot happen with consistent data) falls back to exact text.
 */
#include "feeds/feed_checksum.h"

#include <stdbool.h>
#include <string.h>

#include "book/tg_dec.h"

static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu, 0xe963a535u,
    0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu,
    0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu, 0x1adad47du,
    0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u, 0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu,
    0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u,
    0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u, 0x26d930acu,
    0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u, 0xb8bda50fu,
    0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u, 0x2f6f7c87u, 0x58684c11u, 0xc1611dabu,
    0xb6662d3du, 0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu,
    0x9fbfe4a5u, 0xe8b8d433u, 0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu,
    0x086d3d2du, 0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u, 0x8bbeb8eau,
    0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u, 0x4db26158u, 0x3ab551ceu,
    0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au,
    0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u,
    0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u,
    0xce61e49fu, 0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au, 0xead54739u,
    0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u,
    0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u, 0xf00f9344u, 0x8708a3d2u, 0x1e01f268u,
    0x6906c2feu, 0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u,
    0x10da7a5au, 0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u,
    0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu,
    0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u, 0xcc0c7795u, 0xbb0b4703u,
    0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u,
    0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du, 0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au,
    0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu,
    0x0cb61b38u, 0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u, 0x88085ae6u,
    0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u,
    0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u, 0x4969474du,
    0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu, 0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u,
    0x47b2cf7fu, 0x30b5ffe9u, 0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u,
    0xcdd70693u, 0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

/* Slicing-by-8 tables: crc_t8[0] is crc_table, crc_t8[k][n] advances crc_t8[k-1][n] by one
 * zero byte. Filled once before main() (a constructor), read-only afterwards. */
static uint32_t crc_t8[8][256];

__attribute__((constructor)) static void crc_init(void)
{
    for (int n = 0; n < 256; n++)
        crc_t8[0][n] = crc_table[n];
    for (int k = 1; k < 8; k++)
        for (int n = 0; n < 256; n++)
            crc_t8[k][n] = (crc_t8[k - 1][n] >> 8) ^ crc_table[crc_t8[k - 1][n] & 0xffu];
}

uint32_t feed_crc32(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    crc = ~crc;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = crc_t8[7][v & 0xffu] ^ crc_t8[6][(v >> 8) & 0xffu] ^ crc_t8[5][(v >> 16) & 0xffu] ^
              crc_t8[4][(v >> 24) & 0xffu] ^ crc_t8[3][(v >> 32) & 0xffu] ^
              crc_t8[2][(v >> 40) & 0xffu] ^ crc_t8[1][(v >> 48) & 0xffu] ^ crc_t8[0][v >> 56];
        p += 8;
        len -= 8;
    }
#endif
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

#define CK_TEXT_MAX (FEED_CK_LEVELS_MAX * 4 * (TG_DEC_STR_MAX + 18 + 1))

static const char ck_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Decimal digits of u (no sign, no leading zeros; "" for 0, as Kraken's lstrip('0') gives),
 * written back to front two digits per division. */
static size_t ck_utoa_nz(uint64_t u, char *buf)
{
    char tmp[24];
    char *e = tmp + sizeof(tmp), *p = e;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, ck_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, ck_pairs + 2 * u, 2);
    } else if (u) {
        *--p = (char)('0' + u);
    }
    size_t n = (size_t)(e - p);
    memcpy(buf, p, n);
    return n;
}

/* u as exactly `w` digits (leading zeros kept), w <= 19 */
static void ck_utoa_w(uint64_t u, int w, char *buf)
{
    int i = w;
    while (i >= 2) {
        i -= 2;
        memcpy(buf + i, ck_pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (i)
        buf[0] = (char)('0' + u % 10);
}

/* One Kraken number: v at `scale` printed with `dp` decimals, '.' removed, leading zeros
 * stripped. Writes at most TG_DEC_STR_MAX bytes. */
static size_t ck_kraken_num(int64_t v, int scale, int dp, char *out)
{
    if (v >= 0 && dp >= 0 && dp <= TG_DEC_SCALE_MAX) {
        if (dp <= scale) {
            int64_t p = tg_dec_pow10[scale - dp];
            if (v % p == 0)
                return ck_utoa_nz((uint64_t)(v / p), out);
        } else {
            int64_t p = tg_dec_pow10[dp - scale];
            if (v <= INT64_MAX / p)
                return ck_utoa_nz((uint64_t)(v * p), out);
        }
    }
    /* slow path: exact text, then drop the point and leading zeros */
    char tmp[TG_DEC_STR_MAX];
    size_t n = tg_dec_format_fixed(v, scale, dp < 0 ? 0 : dp > scale ? scale : dp, tmp);
    size_t k = 0, i = 0;
    if (i < n && tmp[i] == '-')
        out[k++] = tmp[i++];
    int lead = 1;
    for (; i < n; i++) {
        if (tmp[i] == '.')
            continue;
        if (lead && tmp[i] == '0')
            continue;
        lead = 0;
        out[k++] = tmp[i];
    }
    return k;
}

/* Append level l (price, then size) to buf at n in venue v's format. @return the new length. */
static size_t ck_level(const feed_ck_fmt_t *v, const tg_level_t *l, const int scale[2],
                       const int digits[2], char *buf, size_t n)
{
    if (v->interleaved && n)
        buf[n++] = ':';
    n += v->num(l->price, scale[0], digits[0], buf + n);
    if (v->interleaved)
        buf[n++] = ':';
    return n + v->num(l->size, scale[1], digits[1], buf + n);
}

/* The checksum text of the top levels in venue v's layout (copied, truncated, to text when
 * cap > 0) and its CRC-32. */
static uint32_t ck_text(const feed_ck_fmt_t *v, const tg_level_t *bids, size_t nb,
                        const tg_level_t *asks, size_t na, const int scale[2], const int digits[2],
                        char *text, size_t cap)
{
    char buf[CK_TEXT_MAX];
    size_t n = 0;
    if (na > v->levels)
        na = v->levels;
    if (nb > v->levels)
        nb = v->levels;
    if (v->interleaved) {
        for (size_t i = 0; i < nb || i < na; i++) {
            if (i < nb)
                n = ck_level(v, &bids[i], scale, digits, buf, n);
            if (i < na)
                n = ck_level(v, &asks[i], scale, digits, buf, n);
        }
    } else {
        for (size_t i = 0; i < na; i++)
            n = ck_level(v, &asks[i], scale, digits, buf, n);
        for (size_t i = 0; i < nb; i++)
            n = ck_level(v, &bids[i], scale, digits, buf, n);
    }
    if (text && cap) {
        size_t m = n < cap - 1 ? n : cap - 1;
        memcpy(text, buf, m);
        text[m] = 0;
    }
    return feed_crc32(0, buf, n);
}

static const feed_ck_fmt_t ck_kraken = {FEED_KRAKEN_CK_LEVELS, ck_kraken_num, false};

uint32_t feed_kraken_checksum_text(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                   size_t na, int px_scale, int sz_scale, int px_dp, int sz_dp,
                                   char *text, size_t cap)
{
    return ck_text(&ck_kraken, bids, nb, asks, na, (const int[2]){px_scale, sz_scale},
                   (const int[2]){px_dp, sz_dp}, text, cap);
}

uint32_t feed_kraken_checksum_levels(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                     size_t na, int px_scale, int sz_scale, int px_dp, int sz_dp)
{
    return feed_kraken_checksum_text(bids, nb, asks, na, px_scale, sz_scale, px_dp, sz_dp, NULL, 0);
}

/* OKX number: v at `scale` in shortest exact form ("30243.5", "0.0001", "5"), or with at least
 * `digits` fractional digits (more if v needs them). Same text as tg_dec_format() /
 * tg_dec_format_fixed(), without their generality (the test compares them). */
static size_t ck_okx_num(int64_t v, int scale, int digits, char *out)
{
    if (v < 0 || scale < 0 || scale > TG_DEC_SCALE_MAX)
        return digits > 0 && digits <= scale ? tg_dec_format_fixed(v, scale, digits, out)
                                             : tg_dec_format(v, scale, out);
    uint64_t p = (uint64_t)tg_dec_pow10[scale];
    uint64_t ip = (uint64_t)v / p, fp = (uint64_t)v % p;
    size_t n = ip ? ck_utoa_nz(ip, out) : (out[0] = '0', 1);
    if (fp == 0 && digits <= 0)
        return n;
    char *f = out + n + 1;
    ck_utoa_w(fp, scale, f);
    int keep = scale;
    while (keep > digits && keep > 0 && f[keep - 1] == '0')
        keep--;
    if (keep == 0)
        return n;
    out[n] = '.';
    return n + 1 + (size_t)keep;
}

static const feed_ck_fmt_t ck_okx = {FEED_OKX_CK_LEVELS, ck_okx_num, true};

uint32_t feed_okx_checksum_text(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                size_t na, int px_scale, int sz_scale, int px_digits, int sz_digits,
                                char *text, size_t cap)
{
    return ck_text(&ck_okx, bids, nb, asks, na, (const int[2]){px_scale, sz_scale},
                   (const int[2]){px_digits, sz_digits}, text, cap);
}

uint32_t feed_okx_checksum_levels(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                  size_t na, int px_scale, int sz_scale, int px_digits,
                                  int sz_digits)
{
    return feed_okx_checksum_text(bids, nb, asks, na, px_scale, sz_scale, px_digits, sz_digits,
                                  NULL, 0);
}

static int ck_hint(int64_t v)
{
    return v > 0 && v <= TG_DEC_SCALE_MAX ? (int)v : 0;
}

uint32_t feed_checksum_book(const struct book_l2 *book, const struct tg_instr *in,
                            const feed_ck_fmt_t *f, int px_digits, int sz_digits)
{
    tg_level_t bids[FEED_CK_LEVELS_MAX], asks[FEED_CK_LEVELS_MAX];
    size_t n = f->levels < FEED_CK_LEVELS_MAX ? f->levels : FEED_CK_LEVELS_MAX;
    size_t nb = book_l2_top(book, TG_SIDE_BID, bids, n);
    size_t na = book_l2_top(book, TG_SIDE_ASK, asks, n);
    return ck_text(f, bids, nb, asks, na, (const int[2]){in->px_scale, in->sz_scale},
                   (const int[2]){px_digits, sz_digits}, NULL, 0);
}

uint32_t feed_kraken_checksum(const struct book_l2 *book, const struct tg_instr *in,
                              const tg_event_t *ck)
{
    return feed_checksum_book(book, in, &ck_kraken, ck_hint(ck->price), ck_hint(ck->size));
}

uint32_t feed_okx_checksum(const struct book_l2 *book, const struct tg_instr *in,
                           const tg_event_t *ck)
{
    return feed_checksum_book(book, in, &ck_okx, ck_hint(ck->price), ck_hint(ck->size));
}
