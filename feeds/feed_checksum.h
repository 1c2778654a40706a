/* SPDX-License-Identifier: MIT */
/*
 * Venue book checksums (Kraken websocket v1, OKX v5): CRC-32 over a text the venue builds from
 * its top levels. The text building works on plain level arrays (testable without a book);
 * thin tg_checksum_fn wrappers read the builder's book through book_l2_top().
 *
 * Formatting hints: the TG_EV_CHECKSUM event a feed emits carries in .price and .size the
 * number of fractional digits the venue prints for prices and sizes of that instrument
 * (Kraken: fixed per pair, learned from the snapshot strings; OKX: 0 = shortest form, which
 * is what OKX sends, or a fixed count if the instrument's strings were seen padded with zeros).
 *
 * Thread: any (pure functions; the wrappers run on the book thread).
 */
#ifndef FEED_CHECKSUM_H
#define FEED_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/book_l2.h"
#include "book/tg_event.h"
#include "book/tg_instr.h"

/** Levels per side a Kraken checksum covers. */
#define FEED_KRAKEN_CK_LEVELS 10
/** Levels per side an OKX checksum covers. */
#define FEED_OKX_CK_LEVELS 25

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the value zlib's crc32() returns.
 * @param crc Running value: 0 to start, then the previous result to continue.
 * Thread: any.
 */
uint32_t feed_crc32(uint32_t crc, const void *buf, size_t len);

/**
 * Kraken v1 book checksum text: for the top 10 asks (ascending) then the top 10 bids
 * (descending), price then volume, each printed with the pair's fixed decimals, the '.'
 * removed and leading zeros stripped; concatenated without separators.
 * @param bids,asks Best first (bids descending, asks ascending), borrowed; only the first
 *                  FEED_KRAKEN_CK_LEVELS of each are used.
 * @param px_scale,sz_scale Fixed-point scales of the values (tg_instr px_scale/sz_scale).
 * @param px_dp,sz_dp Decimals Kraken prints for this pair (0..18).
 * @param text If not NULL, receives the text (NUL-terminated, truncated to cap) for tests.
 * @return CRC-32 of the text (Kraken sends it as an unsigned decimal string "c").
 * Thread: any. No allocation.
 */
uint32_t feed_kraken_checksum_text(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                   size_t na, int px_scale, int sz_scale, int px_dp, int sz_dp,
                                   char *text, size_t cap);

/** feed_kraken_checksum_text() without the text. */
uint32_t feed_kraken_checksum_levels(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                     size_t na, int px_scale, int sz_scale, int px_dp, int sz_dp);

/**
 * OKX v5 book checksum text: for i in 0..24, "bidPx:bidSz" if bid i exists, then "askPx:askSz"
 * if ask i exists, all joined with ':'. Numbers are printed in their shortest exact form
 * (px_digits/sz_digits 0), or with exactly that many fractional digits (> 0).
 * @return CRC-32 of the text as uint32 (OKX sends the same 32 bits as a signed int32).
 * Thread: any. No allocation.
 */
uint32_t feed_okx_checksum_text(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                size_t na, int px_scale, int sz_scale, int px_digits, int sz_digits,
                                char *text, size_t cap);

/** feed_okx_checksum_text() without the text. */
uint32_t feed_okx_checksum_levels(const tg_level_t *bids, size_t nb, const tg_level_t *asks,
                                  size_t na, int px_scale, int sz_scale, int px_digits,
                                  int sz_digits);

/** Most levels per side a checksum text covers (feed_ck_fmt_t.levels). */
#define FEED_CK_LEVELS_MAX 25

/** How a venue writes its checksum text: the levels of each side it covers (at most
 *  FEED_CK_LEVELS_MAX), how it prints a number (v at scale, digits: the venue's decimals
 *  hint; at most TG_DEC_STR_MAX + 18 bytes to out) and the layout: interleaved ("bid1px:
 *  bid1sz:ask1px:ask1sz:...", OKX, Bitget) or every ask then every bid run together (Kraken).
 *  Thread: any (const). */
typedef struct feed_ck_fmt {
    size_t levels;
    size_t (*num)(int64_t v, int scale, int digits, char *out);
    bool interleaved;
} feed_ck_fmt_t;

/** CRC-32 of the checksum text of book's top levels in format f, prices and sizes printed at
 *  in's scales with the px_digits / sz_digits hints.  Thread: book. No allocation. */
uint32_t feed_checksum_book(const struct book_l2 *book, const struct tg_instr *in,
                            const feed_ck_fmt_t *f, int px_digits, int sz_digits);

/** tg_checksum_fn for Kraken instruments: ck->price/ck->size = px_dp/sz_dp.  Thread: book. */
uint32_t feed_kraken_checksum(const struct book_l2 *book, const struct tg_instr *in,
                              const tg_event_t *ck);

/** tg_checksum_fn for OKX instruments: ck->price/ck->size = digits hints (0 = shortest).
 *  Thread: book. */
uint32_t feed_okx_checksum(const struct book_l2 *book, const struct tg_instr *in,
                           const tg_event_t *ck);

#endif
