/* SPDX-License-Identifier: MIT */
/*
 * test_it_backfill.c's Kraken Futures case (venue cryptofacilities): no REST history; on every
 * trade subscribe the venue sends per product a trade_snapshot of its newest 100 trades, and
 * the replay (--resume) sends one at each reconnect, from the trades published so far (the
 * recording's own trade_snapshot and its live trades, also those of frames nobody received).
 * The recording has 3 live trades of 3 products (frames 572, 1309 and 2191) in 7175 frames:
 * 3 drops of 450 frames then 300 away put each in frames no connection receives. With the
 * history every one is stored once, from the next connection's trade_snapshot, and none of the
 * first connection's snapshot trades (they are from before the collection); without it (the
 * replay's --no-lead: no snapshot at a reconnect) exactly the 3 are missing, each inside a
 * trade gap row with time bounds (the handler's, when a reconnect's snapshot does not come in
 * 10 s: one per product, from its last trade's time to then). Ids: the handler's hash of the
 * uid; symbols as the venue spells them (the gap rows' instruments).
 * Thread: the test's.
 */
#ifndef TEST_IT_BACKFILL_CF_H
#define TEST_IT_BACKFILL_CF_H

static const bf_case_t k_cryptofacilities = {
    BF_DROPS("cryptofacilities/cryptofeed_ce58c2a0_KRAKEN_FUTURES.ws.1.tgrec.zst",
             "cryptofacilities",
             "FI_ETHUSD_211231,PI_XRPUSD,PI_LTCUSD,FI_BCHUSD_210730,PI_ETHUSD,FI_XBTUSD_210924,"
             "FI_ETHUSD_210730,FI_BCHUSD_210924,FI_XRPUSD_210924,FI_XBTUSD_210730",
             3, 450, 300),
    BF_TRADES("{\"feed\":\"trade\",", "\"uid\":\""),
    .by_time = true,
    .ts_key = "\"time\":",
    .sym_key = "\"product_id\":\"",
    .ts_ms = true,
    .steady = 60, /* 15 s: past the 10 s a reconnect's trade_snapshot may take */
    .ws_history = true,
    .done_log = "1 trades from trade_snapshot",
    .lost_log = "may be lost (no trade_snapshot)",
};

#endif
