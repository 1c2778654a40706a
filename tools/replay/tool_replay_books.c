/* SPDX-License-Identifier: MIT */
/*
 * `tickgate-replay books`: recording -> venue handler -> builder -> result JSON (the peer
 * oracle's shape, exact decimals). Synchronous: the builder's in-process API, one thread,
 * as fast as the handler and the builder go. Closed candles of the --bar interval are
 * collected through a callback sink; the forming one is written as open_bar.
 */
#include "tool_replay_books.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book/book_candle.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "book/tg_own.h"

/* Bring what s collected to scales (px, sz) >= its own, exactly. */
static void sym_rescale(trb_run_t *r, trb_sym_t *s, int px, int sz)
{
    int up_p = px > s->px ? px - s->px : 0, up_s = sz > s->sz ? sz - s->sz : 0;
    if (!up_p && !up_s)
        return;
    s->amount *= tg_dec_pow10[up_s];
    for (size_t i = 0; i < s->n_bars; i++)
        if (book_candle_rescale(&s->bars[i], up_p, up_s) < 0)
            r->oom++; /* cannot happen: the builder held the same bars at these scales */
    s->px += up_p;
    s->sz += up_s;
}

static int collect(void *ctx, const book_out_t *rec)
{
    trb_run_t *r = ctx;
    if (rec->instr >= r->n_sym)
        return 0;
    trb_sym_t *s = &r->sym[rec->instr];
    sym_rescale(r, s, rec->px_scale, rec->sz_scale);
    switch (rec->kind) {
    case BOOK_OUT_TRADE:
        s->trades++;
        /* a trade kept at its own (lower) scales: brought up exactly in 128 bits */
        s->amount += (__int128)rec->u.trade.size *
                     tg_dec_pow10[rec->sz_scale < s->sz ? s->sz - rec->sz_scale : 0];
        if (rec->u.trade.side == TG_SIDE_BUY)
            s->buys++;
        else if (rec->u.trade.side == TG_SIDE_SELL)
            s->sells++;
        break;
    case BOOK_OUT_CANDLE:
        if (!rec->u.candle.closed || rec->u.candle.interval_ns != r->bar_ns)
            break;
        /* a revised bar replaces its earlier version (docs/book.md, revision rule); a late
           bar goes in start order, as PostgreSQL's rows sort */
        size_t at = s->n_bars;
        while (at > 0 && s->bars[at - 1].start_ns >= rec->u.candle.start_ns)
            at--;
        if (at < s->n_bars && s->bars[at].start_ns == rec->u.candle.start_ns) {
            s->bars[at] = rec->u.candle;
            break;
        }
        if (s->n_bars == s->cap_bars) {
            size_t cap = s->cap_bars ? s->cap_bars * 2 : 64;
            book_out_candle_t *nb = realloc(s->bars, cap * sizeof(*nb));
            if (!nb) {
                r->oom++;
                break;
            }
            s->bars = nb;
            s->cap_bars = cap;
        }
        memmove(&s->bars[at + 1], &s->bars[at], (s->n_bars - at) * sizeof(*s->bars));
        s->bars[at] = rec->u.candle;
        s->n_bars++;
        break;
    case BOOK_OUT_GAP:
        if (rec->u.gap.reason != BOOK_GAP_RESYNCED) {
            s->gaps++;
            r->gaps++;
        }
        break;
    default:
        break;
    }
    return 0;
}

static int to_builder(void *ctx, const tg_event_t *ev, uint32_t n)
{
    book_builder_apply(ctx, ev, n);
    return 0;
}

int tool_replay_books_run(trb_run_t **out, const char *file, const char *venue, int64_t bar_ns)
{
    trb_run_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    snprintf(r->file, sizeof(r->file), "%s", file);
    r->bar_ns = bar_ns;
    int rc = tg_instr_reg_create(&r->reg);
    if (rc < 0)
        goto fail;
    /* one streaming pass: constant memory in the file's size, and an unknown venue is
     * found from the header before any data is read */
    rc = feed_offline_open_stream(&r->off, file, venue, r->reg, 0);
    if (rc < 0)
        goto fail;
    r->n_sym = tg_instr_reg_count(r->reg);
    r->sym = calloc(r->n_sym ? r->n_sym : 1, sizeof(trb_sym_t));
    if (!r->sym) {
        rc = -ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < r->n_sym; i++) {
        const tg_instr_t *in = tg_instr_reg_get(r->reg, i);
        r->sym[i].px = in->px_scale;
        r->sym[i].sz = in->sz_scale;
    }
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = r->reg;
    cfg.n_sinks = 1;
    cfg.sinks[0] =
        (book_sink_cfg_t){.name = "replay",
                          .fn = collect,
                          .ctx = r,
                          .kinds = BOOK_SINK_TRADE | BOOK_SINK_CANDLE_CLOSED | BOOK_SINK_GAP,
                          .lossless = true};
    cfg.candles.n_intervals = 1;
    cfg.candles.interval_ns[0] = bar_ns;
    cfg.book_interval_ns = 0;
    cfg.measure_latency = false;
    cfg.wall_clock_candles = false;
    rc = book_builder_create(&r->bld, &cfg);
    if (rc < 0)
        goto fail;
    rc = feed_offline_run(r->off, to_builder, r->bld);
    if (rc < 0)
        goto fail;
    book_builder_flush(r->bld);
    for (uint32_t i = 0; i < r->n_sym; i++) { /* results at the books' final scales */
        int px, sz;
        if (book_builder_scales(r->bld, i, &px, &sz))
            sym_rescale(r, &r->sym[i], px, sz);
        const book_l2_t *bk = book_builder_book(r->bld, i);
        if (bk && book_l2_state(bk) == BOOK_STATE_FAULT)
            r->faults++;
    }
    *out = r;
    return 0;
fail:
    tool_replay_books_free(&r);
    return rc;
}

void tool_replay_books_free(trb_run_t **pr)
{
    trb_run_t *r = tg_own_take(pr);
    if (!r)
        return;
    book_builder_destroy(&r->bld);
    feed_offline_close(&r->off);
    if (r->sym)
        for (uint32_t i = 0; i < r->n_sym; i++)
            free(r->sym[i].bars);
    free(r->sym);
    tg_instr_reg_destroy(&r->reg);
    free(r);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_dec(FILE *f, int64_t v, int scale)
{
    char buf[TG_DEC_STR_MAX];
    tg_dec_format(v, scale, buf);
    fprintf(f, "\"%s\"", buf);
}

/* a non-negative __int128 at scale as exact decimal text */
static void json_dec128(FILE *f, __int128 v, int scale)
{
    char digits[64];
    int n = 0;
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-v) : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        digits[n++] = '0';
    int lo = 0; /* trailing fractional zeros to drop */
    while (lo < scale && digits[lo] == '0')
        lo++;
    fputc('"', f);
    if (neg)
        fputc('-', f);
    for (int i = n - 1; i >= lo; i--) {
        if (i == scale - 1)
            fputc('.', f);
        fputc(digits[i], f);
    }
    fputc('"', f);
}

static void json_levels(FILE *f, const book_l2_t *bk, tg_side_t side, uint32_t depth,
                        const trb_sym_t *in)
{
    tg_level_t lv[64];
    size_t n = bk ? book_l2_top(bk, side, lv, depth < 64 ? depth : 64) : 0;
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", [" : "[", f);
        json_dec(f, lv[i].price, in->px);
        fputs(", ", f);
        json_dec(f, lv[i].size, in->sz);
        fputc(']', f);
    }
    fputc(']', f);
}

static void json_bar(FILE *f, const book_out_candle_t *c, const trb_sym_t *in)
{
    fprintf(f, "{\"start_ms\": %lld", (long long)(c->start_ns / TG_NS_PER_MS));
    for (size_t i = 0; i < BOOK_CANDLE_N_DEC; i++) {
        const book_candle_field_t *d = &book_candle_dec[i];
        if (d->off == offsetof(book_out_candle_t, vwap)) /* this output has trades before vwap */
            fprintf(f, ", \"trades\": %u", c->trades);
        fprintf(f, ", \"%s\": ", d->name);
        json_dec(f, book_candle_field_get(c, d), d->px ? in->px : in->sz);
    }
    fprintf(f, ", \"open_timestamp_ns\": %lld, \"close_timestamp_ns\": %lld}",
            (long long)c->first_ts, (long long)c->last_ts);
}

int tool_replay_books_write_json(const trb_run_t *r, FILE *f, uint32_t depth)
{
    const book_builder_stats_t *st = book_builder_stats(r->bld);
    const feed_stats_t *fs = &r->off->stats;
    uint64_t errors = TG_STAT_GET(fs->err_json) + TG_STAT_GET(fs->err_field) +
                      TG_STAT_GET(fs->err_symbol) + TG_STAT_GET(fs->err_decimal) +
                      TG_STAT_GET(fs->err_venue) + TG_STAT_GET(st->bad_events) + r->oom;
    fputs("{\n  \"peer\": \"tickgate\",\n  \"file\": ", f);
    json_str(f, r->file);
    fputs(",\n  \"venue\": ", f);
    json_str(f, r->off->venue->name);
    fprintf(f, ",\n  \"options\": {\"depth\": %u, \"bar_ms\": %lld},\n", depth,
            (long long)(r->bar_ns / TG_NS_PER_MS));
    const struct {
        const char *name;
        uint64_t v;
    } counters[] = {
        {"data_lines", r->off->rec->data_lines},
        {"messages", TG_STAT_GET(fs->frames)},
        {"bad_lines", r->off->bad_lines},
        {"events", TG_STAT_GET(st->events)},
        {"book_messages", TG_STAT_GET(st->messages)},
        {"trades", TG_STAT_GET(st->ev_trade)},
        {"errors", errors},
        {"gaps", r->gaps},
        {"feed_gaps", TG_STAT_GET(fs->gaps)},
        {"resyncs", TG_STAT_GET(st->resyncs)},
        {"feed_resyncs", TG_STAT_GET(fs->resyncs)},
        {"checksum_ok", TG_STAT_GET(st->checksum_ok)},
        {"checksum_fail", TG_STAT_GET(st->checksum_fail)},
        {"checksum_skipped", TG_STAT_GET(st->checksum_skipped)},
        {"crossed", TG_STAT_GET(st->crossed)},
        {"snapshots", TG_STAT_GET(st->snapshots)},
        {"late_trades", TG_STAT_GET(st->late_trades)},
        {"missing_deletes", TG_STAT_GET(st->missing_deletes)},
        {"bars_closed", TG_STAT_GET(st->candles_closed)},
    };
    fputs("  \"counters\": {", f);
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        fprintf(f, "%s\"%s\": %llu", i ? ", " : "", counters[i].name,
                (unsigned long long)counters[i].v);
    fputs("},\n", f);
    fputs("  \"symbols\": {", f);
    for (uint32_t i = 0; i < r->n_sym; i++) {
        const tg_instr_t *in = tg_instr_reg_get(r->reg, i);
        const trb_sym_t *s = &r->sym[i];
        const book_l2_t *bk = book_builder_book(r->bld, i);
        fputs(i ? ",\n    " : "\n    ", f);
        json_str(f, in->symbol);
        fprintf(f,
                ": {\"trades\": %llu, \"buy_trades\": %llu, \"sell_trades\": %llu, "
                "\"trade_amount\": ",
                (unsigned long long)s->trades, (unsigned long long)s->buys,
                (unsigned long long)s->sells);
        json_dec128(f, s->amount, s->sz);
        static const char *names[] = {"resyncing", "valid", "stale", "fault"};
        fprintf(f,
                ", \"px_scale\": %d, \"sz_scale\": %d, \"state\": \"%s\", \"generation\": %llu, "
                "\"seq\": %llu, \"gaps\": %llu, \"levels\": {\"bids\": %zu, \"asks\": %zu},\n"
                "      \"bids\": ",
                s->px, s->sz, bk ? names[book_l2_state(bk) % 4] : "none",
                (unsigned long long)(bk ? book_l2_generation(bk) : 0),
                (unsigned long long)(bk ? book_l2_last_seq(bk) : 0), (unsigned long long)s->gaps,
                bk ? book_l2_depth(bk, TG_SIDE_BID) : 0, bk ? book_l2_depth(bk, TG_SIDE_ASK) : 0);
        json_levels(f, bk, TG_SIDE_BID, depth, s);
        fputs(",\n      \"asks\": ", f);
        json_levels(f, bk, TG_SIDE_ASK, depth, s);
        fputs(",\n      \"bars\": [", f);
        for (size_t k = 0; k < s->n_bars; k++) {
            fputs(k ? ",\n        " : "\n        ", f);
            json_bar(f, &s->bars[k], s);
        }
        fputs("],\n      \"open_bar\": ", f);
        const book_candles_t *cs = book_builder_candles(r->bld, i);
        book_out_candle_t c;
        if (cs && book_candles_forming(cs, 0, &c))
            json_bar(f, &c, s);
        else
            fputs("null", f);
        fputs("}", f);
    }
    fputs("\n  }\n}\n", f);
    return ferror(f) ? -EIO : 0;
}

int tool_replay_venue_check(const char *file, const char *venue)
{
    char known[1024];
    if (venue) {
        if (feed_venue_find(venue))
            return 0;
        fprintf(stderr, "tickgate-replay: unknown venue '%s' (known: %s)\n", venue,
                feed_venue_list(known, sizeof(known)));
        return 2;
    }
    feed_tgrec_t *rec = NULL;
    if (feed_tgrec_open_stream(&rec, file, 4096) < 0) /* reads the header only */
        return 0; /* not a readable tgrec file: the caller reports it when it opens it */
    int rc = 0;
    if (!feed_venue_find(rec->venue)) {
        fprintf(stderr, "tickgate-replay: %s: unknown venue '%s' (known: %s)\n", file, rec->venue,
                feed_venue_list(known, sizeof(known)));
        rc = 2;
    }
    feed_tgrec_close(&rec);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: tickgate-replay books FILE [--depth N] [--bar 1m] [--venue V] "
                    "--out result.json\n");
    return 2;
}

int tool_replay_books_main(int argc, char **argv)
{
    const char *file = NULL, *venue = NULL, *outp = NULL, *bar = "1m";
    long depth = 10;
    int i = 1;
    if (i < argc && strcmp(argv[i], "books") == 0) /* also callable as `prog books ...` */
        i++;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--depth") && i + 1 < argc)
            depth = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--bar") && i + 1 < argc)
            bar = argv[++i];
        else if (!strcmp(a, "--venue") && i + 1 < argc)
            venue = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc)
            outp = argv[++i];
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage();
        else if (a[0] != '-' && !file)
            file = a;
        else
            return usage();
    }
    int64_t bar_ns;
    if (!file || !outp || depth < 1 || depth > 64 || book_candle_parse_interval(bar, &bar_ns))
        return usage();
    if (venue && tool_replay_venue_check(file, venue))
        return 2;
    trb_run_t *r;
    int64_t t0 = tg_clock_mono_ns();
    int rc = tool_replay_books_run(&r, file, venue, bar_ns);
    if (rc == TG_ECONFIG && tool_replay_venue_check(file, venue))
        return 2; /* the header names a venue we do not have: found before reading data */
    if (rc < 0) {
        fprintf(stderr, "tickgate-replay books: %s: %s\n", file, tg_strerror(rc));
        return 1;
    }
    int64_t t1 = tg_clock_mono_ns();
    FILE *f = strcmp(outp, "-") ? fopen(outp, "w") : stdout;
    if (!f) {
        fprintf(stderr, "tickgate-replay books: %s: %s\n", outp, strerror(errno));
        tool_replay_books_free(&r);
        return 1;
    }
    rc = tool_replay_books_write_json(r, f, (uint32_t)depth);
    if (f != stdout && fclose(f) != 0)
        rc = -EIO;
    int64_t t2 = tg_clock_mono_ns();
    const book_builder_stats_t *st = book_builder_stats(r->bld);
    double text_mb = (double)feed_tgrec_text_offset(r->off->rec) / 1e6;
    fprintf(stderr,
            "tickgate-replay books: %s: %llu frames, %llu events in %.3f s (%.1f MB of text, "
            "%.0f MB/s; %.1f MB read; JSON %.3f s)\n",
            file, (unsigned long long)TG_STAT_GET(r->off->stats.frames),
            (unsigned long long)TG_STAT_GET(st->events), (double)(t1 - t0) / 1e9, text_mb,
            t1 > t0 ? text_mb / ((double)(t1 - t0) / 1e9) : 0.0,
            (double)r->off->rec->file_bytes / 1e6, (double)(t2 - t1) / 1e9);
    if (TG_STAT_GET(r->off->stats.rescales))
        fprintf(stderr, "tickgate-replay books: %s: %llu instrument scales raised (exact)\n", file,
                (unsigned long long)TG_STAT_GET(r->off->stats.rescales));
    uint64_t lost = TG_STAT_GET(r->off->stats.unrepresentable) + TG_STAT_GET(st->faults);
    if (lost || r->faults) {
        /* loud, never silent: name every instrument whose book ended in FAULT */
        fprintf(stderr,
                "tickgate-replay books: %s: FAULT: %llu values could not be held exactly; "
                "books in FAULT:",
                file, (unsigned long long)lost);
        for (uint32_t i = 0; i < r->n_sym; i++) {
            const book_l2_t *bk = book_builder_book(r->bld, i);
            if (bk && book_l2_state(bk) == BOOK_STATE_FAULT)
                fprintf(stderr, " %s", tg_instr_reg_get(r->reg, i)->symbol);
        }
        fputc('\n', stderr);
        tool_replay_books_free(&r);
        return 3;
    }
    tool_replay_books_free(&r);
    return rc < 0 ? 1 : 0;
}
