/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL schema of the writer: versioned migrations applied at start-up (idempotent, and
 * safe when several processes start at once: one transaction under an advisory lock keyed on
 * the schema name), and daily range partitions of the four event tables created ahead of need
 * and on demand. The layout and example queries are in docs/schema.md.
 *
 * Thread: whoever owns the PGconn (writer:pg, or main before the writer starts).
 */
#ifndef STORE_PG_SCHEMA_H
#define STORE_PG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/** Latest schema version this build knows. */
#define STORE_PG_SCHEMA_VERSION 2
/** Longest schema name accepted (PostgreSQL NAMEDATALEN - 1). */
#define STORE_PG_SCHEMA_NAME_MAX 63
#define STORE_PG_NS_PER_DAY      86400000000000LL

/** Tables that receive rows (their index in batches and journal records). */
enum store_pg_table {
    STORE_PG_T_TRADES = 0,
    STORE_PG_T_BOOKS = 1,
    STORE_PG_T_CANDLES = 2,
    STORE_PG_T_GAPS = 3,
    STORE_PG_T_COUNT = 4,
};

/** Table name for a store_pg_table value.  Thread: any. */
const char *store_pg_schema_table(int t);

/** Check a schema name: [a-z_][a-z0-9_]*, at most 63 bytes (never quoted, never injected).
 *  @return 0 or TG_ECONFIG.  Thread: any. */
int store_pg_schema_check_name(const char *schema);

/** Day number (days since 1970-01-01 UTC, floor) of a Unix-epoch ns time.  Thread: any. */
static inline int64_t store_pg_day_of_ns(int64_t ns)
{
    int64_t d = ns / STORE_PG_NS_PER_DAY;
    return (ns % STORE_PG_NS_PER_DAY < 0) ? d - 1 : d;
}

/**
 * Bring `schema` to STORE_PG_SCHEMA_VERSION: create the schema and schema_version if missing,
 * apply each newer migration, all in one transaction under pg_advisory_xact_lock.
 * @param version_out Optional: the version found before migrating (0 for a new schema).
 * @return 0; TG_ECONFIG (bad name; or the database is newer than this build); TG_EPG with
 *         libpq's text in err.  Thread: owner of c.
 */
int store_pg_schema_migrate(PGconn *c, const char *schema, int *version_out, char *err,
                            size_t errlen);

/**
 * Create the partitions of every event table for days [first, first + n) if missing (one
 * transaction under the same advisory lock, so concurrent writers never collide).
 * @return 0 or TG_EPG.  Thread: owner of c.
 */
int store_pg_schema_ensure_days(PGconn *c, const char *schema, int64_t first, int n, char *err,
                                size_t errlen);

/**
 * Retention: drop (or, with detach, detach and keep as plain tables renamed
 * "<table>_pYYYYMMDD_detached") every daily partition
 * "<table>_pYYYYMMDD" of the four event tables whose day is before keep_from, in one
 * transaction under the schema's advisory lock (writers of a fleet may all run it). Tables
 * that are not ours (other names, other parents) are never touched.
 * @param retired Out: partitions retired. @return 0 or TG_EPG.  Thread: owner of c.
 */
int store_pg_schema_retire_days(PGconn *c, const char *schema, int64_t keep_from, int detach,
                                int *retired, char *err, size_t errlen);

/** Day number of one of our partition names ("trades_p20261205"), its table in *table;
 *  -1 when the name is not one.  Thread: any. */
int64_t store_pg_schema_partition_day(const char *name, int *table);

/** Upsert this gateway's row in <schema>.instances (name, host, pid, version, connected_at).
 *  @return 0 or TG_EPG.  Thread: owner of c. */
int store_pg_schema_put_instance(PGconn *c, const char *schema, const char *name, const char *host,
                                 const char *version, char *err, size_t errlen);

/** DROP SCHEMA ... CASCADE (tests, benchmarks). @return 0 or TG_EPG.  Thread: owner of c. */
int store_pg_schema_drop(PGconn *c, const char *schema, char *err, size_t errlen);

/**
 * Resume points for trade backfill at start-up: for each instrument ids[i], the highest
 * positive trade id in <schema>.trades among the trades received (recv_ts) in the last
 * max_age_s seconds, into
 * out[i] (0: none; hashed text ids, stored negative, never count); where by_ts[i] (NULL: none;
 * a venue without consecutive ids), the newest exchange time (ts) among the trades with ts and
 * recv_ts in the last max_age_s seconds instead, into out_ts[i] as ns (the stored microsecond:
 * at most 1 us before the trade's own time, never after; 0: none), out[i] 0. The ts bound
 * prunes the daily partitions (no (instr, ts) index: the instrument's rows of those days are
 * read). One query.
 * @return how many instruments have one, or TG_EPG.  Thread: owner of c.
 */
long store_pg_schema_last_trades(PGconn *c, const char *schema, const int64_t *ids,
                                 const uint8_t *by_ts, uint32_t n, uint32_t max_age_s,
                                 uint64_t *out, int64_t *out_ts, char *err, size_t errlen);

/** Stable instrument id: FNV-1a 64 of "venue\0symbol", top bit cleared.  Thread: any. */
int64_t store_pg_schema_instr_id(const char *venue, const char *symbol);

/**
 * Upsert one instrument row (id, venue, symbol, scales) and check that the id is not taken by
 * another (venue, symbol) (a hash collision is reported, never merged).
 * @return 0; TG_ECONFIG (collision); TG_EPG.  Thread: owner of c.
 */
int store_pg_schema_put_instr(PGconn *c, const char *schema, int64_t id, const char *venue,
                              const char *symbol, int px_scale, int sz_scale, char *err,
                              size_t errlen);

#endif
