/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL writer's COPY/commit path (see store_pg.c for the DESIGN): the commit of a
 * batch (live, or from the journal) in one transaction: COPY into the partitioned tables
 * (optimistic), or COPY into temporary staging tables then INSERT ... ON CONFLICT DO NOTHING
 * (staged, and the fallback when an optimistic batch meets a unique key). Every failure is
 * classified (connection, transient, duplicate, missing partition, bad data) for the caller's
 * policy. Every wait for the server is bounded (store_pg_io.h: io_timeout_ms); a wait that runs out
 * is PGF_HUNG and the caller drops the connection. While it waits, the connection's idle hook
 * (store_pg__overlap(), store_pg_batch.c) moves ring records into the filling batch and, when
 * that is full, into the journal; it never calls back into the loop (store_pg.c).
 * Thread: writer:pg.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "storage/pg/store_pg_int.h"
#include "storage/pg/store_pg_io.h"

/* ---- commit ---- */

static fail_class_t classify(store_pg_t *w, PGresult *r, const char *what)
{
    store_pg_io_t *io = store_pg_io_of(w->conn);
    if (!r && io && io->timed_out) { /* the server did not answer in time: treat it as gone */
        store_pg__set_err(w, TG_EPG, what, store_pg_io_error(w->conn));
        TG_STAT_INC(w->st.io_timeouts);
        return PGF_HUNG;
    }
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    store_pg__set_err(w, TG_EPG, what, r ? PQresultErrorMessage(r) : PQerrorMessage(w->conn));
    if (PQstatus(w->conn) == CONNECTION_BAD || !st)
        return PGF_CONN;
    if (!strcmp(st, "23505"))
        return PGF_DUP;
    if (!strcmp(st, "23514") && strstr(w->errstr, "partition"))
        return PGF_PARTITION;
    if (!strcmp(st, "57014") || !strcmp(st, "55P03") || !strncmp(st, "40", 2) ||
        !strncmp(st, "53", 2) || !strncmp(st, "57", 2) || !strncmp(st, "08", 2) ||
        !strncmp(st, "58", 2) || !strncmp(st, "XX", 2))
        return PGF_TRANSIENT;
    return PGF_DATA;
}

/* Collect the results of the command just answered (PQisBusy is false). */
static fail_class_t results(store_pg_t *w, const char *what, int64_t *tuples)
{
    fail_class_t f = PGF_OK;
    PGresult *r;
    while ((r = PQgetResult(w->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (f == PGF_OK)
                f = classify(w, r, what);
        } else if (tuples) {
            *tuples = atoll(PQcmdTuples(r));
        }
        PQclear(r);
        if (f != PGF_OK && PQstatus(w->conn) == CONNECTION_BAD)
            break;
        if (PQisBusy(w->conn) && store_pg_io_wait(w->conn, true) < 0) /* several results */
            return classify(w, NULL, what);
    }
    return f;
}

/* One statement; every wait bounded by io_timeout_ms, the ring drained meanwhile (the
 * overlap of client encoding and server work, store_pg.c's idle hook). */
static fail_class_t exec_cmd(store_pg_t *w, const char *sql, int64_t *tuples)
{
    if (!PQsendQuery(w->conn, sql))
        return classify(w, NULL, sql);
    if (store_pg_io_wait(w->conn, true) < 0)
        return classify(w, NULL, sql);
    return results(w, sql, tuples);
}

static fail_class_t copy_in(store_pg_t *w, const char *target, const tab_view_t *tv,
                            int64_t *tuples)
{
    char sql[160];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN (FORMAT binary)", target);
    PGresult *r = store_pg_io_exec(w->conn, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        fail_class_t f = classify(w, r, "COPY");
        PQclear(r);
        return f;
    }
    PQclear(r);
    int rc = store_pg_io_put_copy(w->conn, store_pg_copy_header, sizeof store_pg_copy_header);
    if (rc == 0)
        rc = store_pg_io_put_copy(w->conn, tv->p, tv->len);
    if (rc == 0)
        rc = store_pg_io_put_copy(w->conn, store_pg_copy_trailer, sizeof store_pg_copy_trailer);
    if (rc == -ETIMEDOUT)
        return classify(w, NULL, "COPY send");
    if ((rc = store_pg_io_copy_end(w->conn, rc ? "client error" : NULL)) == -ETIMEDOUT)
        return classify(w, NULL, "COPY end");
    if (rc == 0 && store_pg_io_wait(w->conn, true) < 0)
        return classify(w, NULL, "COPY");
    fail_class_t f = results(w, "COPY", tuples);
    if (f == PGF_OK && rc < 0)
        f = classify(w, NULL, "COPY send");
    return f;
}

/* One transaction. inserted[] gets the new rows per table. */
static fail_class_t attempt(store_pg_t *w, const batch_view_t *v, bool staged, int64_t *inserted)
{
    fail_class_t f = exec_cmd(w, "BEGIN", NULL);
    for (int t = 0; f == PGF_OK && t < STORE_PG_T_COUNT; t++) {
        inserted[t] = 0;
        if (!v->t[t].rows)
            continue;
        const char *tn = store_pg_schema_table(t);
        char target[128];
        if (!staged) {
            snprintf(target, sizeof target, "%s.%s", w->schema, tn);
            f = copy_in(w, target, &v->t[t], &inserted[t]);
        } else {
            snprintf(target, sizeof target, "tg_stage_%s", tn);
            f = copy_in(w, target, &v->t[t], NULL);
            if (f == PGF_OK) {
                char sql[1024];
                if (t == STORE_PG_T_CANDLES) /* a revised candle (more trades) replaces its row
                                                (docs/book.md, candle revisions) */
                    snprintf(sql, sizeof sql,
                             "INSERT INTO %s.candles AS c SELECT DISTINCT ON (instr, \"interval\","
                             " start_ts) * FROM tg_stage_candles ORDER BY instr, \"interval\","
                             " start_ts, trades DESC ON CONFLICT (instr, \"interval\", start_ts)"
                             " DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,"
                             " low = EXCLUDED.low, close = EXCLUDED.close,"
                             " volume = EXCLUDED.volume, buy_volume = EXCLUDED.buy_volume,"
                             " sell_volume = EXCLUDED.sell_volume, notional = EXCLUDED.notional,"
                             " vwap = EXCLUDED.vwap, trades = EXCLUDED.trades,"
                             " first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts,"
                             " recv_ts = EXCLUDED.recv_ts WHERE c.trades < EXCLUDED.trades",
                             w->schema);
                else
                    snprintf(sql, sizeof sql,
                             "INSERT INTO %s.%s SELECT * FROM tg_stage_%s ON CONFLICT DO NOTHING",
                             w->schema, tn, tn);
                f = exec_cmd(w, sql, &inserted[t]);
            }
        }
    }
    if (f == PGF_OK)
        f = exec_cmd(w, "COMMIT", NULL);
    if (f != PGF_OK && f != PGF_HUNG && PQstatus(w->conn) == CONNECTION_OK &&
        PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
        PQclear(store_pg_io_exec(w->conn, "ROLLBACK", 0, NULL));
        store_pg_io_t *io = store_pg_io_of(w->conn);
        if (io && io->timed_out)
            f = PGF_HUNG; /* not even the ROLLBACK was answered */
    }
    if (f != PGF_OK && f != PGF_HUNG && PQstatus(w->conn) == CONNECTION_BAD)
        f = PGF_CONN;
    return f;
}

static fail_class_t ensure_days(store_pg_t *w, const batch_view_t *v)
{
    for (uint32_t i = 0; i < v->ndays; i++) {
        if (store_pg__known_day(w, v->days[i]))
            continue;
        char e[256];
        if (store_pg_schema_ensure_days(w->conn, w->schema, v->days[i], 1, e, sizeof e) < 0) {
            store_pg__set_err(w, TG_EPG, "partition", e);
            store_pg_io_t *io = store_pg_io_of(w->conn);
            if (io && io->timed_out) {
                TG_STAT_INC(w->st.io_timeouts);
                return PGF_HUNG;
            }
            return PQstatus(w->conn) == CONNECTION_BAD ? PGF_CONN : PGF_TRANSIENT;
        }
        store_pg__add_known(w, v->days[i]);
    }
    return PGF_OK;
}

fail_class_t store_pg__commit(store_pg_t *w, const batch_view_t *v)
{
    int64_t t0 = tg_clock_mono_ns(), ins[STORE_PG_T_COUNT] = {0};
    fail_class_t f = ensure_days(w, v);
    bool staged = w->cfg.dedup == STORE_PG_DEDUP_STAGED;
    for (int tries = 0; f == PGF_OK && tries < 3; tries++) {
        f = attempt(w, v, staged, ins);
        if (f == PGF_DUP && !staged) {
            TG_STAT_INC(w->st.dedup_fallbacks);
            staged = true;
            f = PGF_OK;
            continue;
        }
        if (f == PGF_PARTITION && tries < 2) { /* the last try's refusal stands */
            w->nknown = 0;
            f = ensure_days(w, v);
            continue;
        }
        break;
    }
    if (f == PGF_DUP || f == PGF_PARTITION)
        f = PGF_DATA;
    if (f != PGF_OK) {
        TG_STAT_INC(w->st.errors);
        if (f == PGF_TRANSIENT && strstr(w->errstr, "statement timeout"))
            TG_STAT_INC(w->st.timeouts);
        return f;
    }
    int64_t dt = tg_clock_mono_ns() - t0, total = 0;
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        total += ins[t];
        TG_STAT_ADD(w->st.rows_table[t], ins[t]);
    }
    TG_STAT_ADD(w->st.rows_committed, total);
    TG_STAT_ADD(w->st.rows_duplicate, (int64_t)v->rows - total);
    TG_STAT_INC(w->st.batches);
    tg_hist_add(&w->st.commit_lat, dt);
    w->backoff_ms = w->cfg.backoff_min_ms;
    return PGF_OK;
}
