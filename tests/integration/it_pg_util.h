/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the PostgreSQL writer integration tests: an admin connection, one-value
 * queries, record builders, server stop/start through the fixture's variables
 * (tests/fixtures/services.sh), and a registry with two instruments of different scales.
 * Thread: the test's main thread unless noted.
 */
#ifndef IT_PG_UTIL_H
#define IT_PG_UTIL_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_instr.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"

static inline PGconn *it_admin(void)
{
    PGconn *c = PQconnectdb(getenv("TG_TEST_PG_DSN"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "admin connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

/* First value of a query as text (static buffer), or "<error: ...>". */
static inline const char *it_q(PGconn *c, const char *sql)
{
    static char out[65536];
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        snprintf(out, sizeof out, "<error: %s>", PQresultErrorMessage(r));
    else if (PQntuples(r) < 1)
        snprintf(out, sizeof out, "<no rows>");
    else
        snprintf(out, sizeof out, "%s", PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static inline long long it_qi(PGconn *c, const char *sql)
{
    return atoll(it_q(c, sql));
}

static inline void it_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "exec %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static inline char *it_dec(int64_t v, int scale, char *buf)
{
    tg_dec_format(v, scale, buf);
    return buf;
}

/* Registry: 0 = binance/BTCUSDT (px 2, sz 8), 1 = okx/ETH-USDT (px 8, sz 6). */
static inline tg_instr_reg_t *it_registry(void)
{
    tg_instr_reg_t *reg = NULL;
    tg_instr_cfg_t c;
    uint32_t id;
    if (tg_instr_reg_create(&reg) != 0)
        return NULL;
    tg_instr_cfg_defaults(&c);
    c.px_scale = 2;
    c.sz_scale = 8;
    tg_instr_reg_add(reg, "binance", "BTCUSDT", &c, &id);
    c.px_scale = 8;
    c.sz_scale = 6;
    tg_instr_reg_add(reg, "okx", "ETH-USDT", &c, &id);
    return reg;
}

static inline book_out_t it_trade(uint32_t instr, int64_t ts, uint64_t trade_id, int64_t px,
                                  int64_t sz, uint8_t side)
{
    book_out_t r;
    memset(&r, 0, sizeof r);
    r.kind = BOOK_OUT_TRADE;
    r.instr = instr;
    r.ts_exch = ts;
    r.ts_recv = ts + 1500000; /* 1.5 ms later */
    r.ts_mono = tg_clock_mono_ns();
    r.u.trade.price = px;
    r.u.trade.size = sz;
    r.u.trade.trade_id = trade_id;
    r.u.trade.seq = trade_id * 10;
    r.u.trade.side = side;
    return r;
}

/* Run a shell command as the postgres user. */
static inline int it_as_postgres(const char *cmd)
{
    char buf[4200];
    if (getuid() == 0)
        snprintf(buf, sizeof buf, "su -s /bin/sh postgres -c \"%s\" >/dev/null 2>&1", cmd);
    else
        snprintf(buf, sizeof buf, "sh -c \"%s\" >/dev/null 2>&1", cmd);
    return system(buf);
}

static inline int it_pg_stop(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/pg_ctl -D '%s' -m immediate -w -t 30 stop",
             getenv("TG_TEST_PG_BIN"), getenv("TG_TEST_PG_DATA"));
    return it_as_postgres(cmd);
}

/* Same options as tests/fixtures/services.sh. */
static inline int it_pg_start(void)
{
    char cmd[2048];
    const char *sock = getenv("TG_TEST_PG_SOCKDIR");
    snprintf(cmd, sizeof cmd,
             "%s/pg_ctl -D '%s' -l '%s/pg.log' -w -t 60 -o \\\"-c listen_addresses=127.0.0.1 "
             "-p %s -c unix_socket_directories='%s' -c fsync=off -c synchronous_commit=off "
             "-c full_page_writes=off -c max_connections=200\\\" start",
             getenv("TG_TEST_PG_BIN"), getenv("TG_TEST_PG_DATA"), sock, getenv("TG_TEST_PG_PORT"),
             sock);
    return it_as_postgres(cmd);
}

/* Send sig to every process of the fixture's server: the postmaster (first line of
 * postmaster.pid) and its children. SIGSTOP makes a HUNG server (the kernel still accepts
 * connections and acknowledges bytes, nobody answers); SIGCONT resumes it.
 * @return processes signalled, or -1 (no postmaster.pid). */
static inline int it_pg_signal_all(int sig)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/postmaster.pid", getenv("TG_TEST_PG_DATA"));
    FILE *f = fopen(path, "r");
    long pm = 0;
    if (!f || fscanf(f, "%ld", &pm) != 1 || pm <= 0) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid = atol(e->d_name), ppid = 0;
        if (pid <= 0 || pid == pm)
            continue;
        char sp[64], buf[512];
        snprintf(sp, sizeof sp, "/proc/%ld/stat", pid);
        FILE *s = fopen(sp, "r");
        if (!s)
            continue;
        size_t k = fread(buf, 1, sizeof buf - 1, s);
        fclose(s);
        buf[k] = 0;
        const char *rp = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
        if (rp && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == pm &&
            kill((pid_t)pid, sig) == 0)
            n++;
    }
    if (d)
        closedir(d);
    if (kill((pid_t)pm, sig) == 0)
        n++;
    return n;
}

/* One test's fixture: an admin connection, the two-instrument registry, a schema of its own
 * ("<tag>_<pid>_<n>", dropped at teardown) and optionally a journal directory. */
typedef struct it_pg_fx {
    PGconn *admin;
    tg_instr_reg_t *reg;
    char schema[64];
    char spill[64]; /* "" without a journal */
} it_pg_fx_t;

static inline void it_pg_log(void *ud, int level, const char *msg)
{
    (void)ud;
    fprintf(stderr, "[pg log %d] %s\n", level, msg);
}

static inline int it_pg_fx_setup(void **state, const char *tag, int with_spill)
{
    static int n;
    it_pg_fx_t *f = calloc(1, sizeof *f);
    f->admin = it_admin();
    f->reg = it_registry();
    snprintf(f->schema, sizeof f->schema, "%s_%d_%d", tag, (int)getpid(), n++);
    if (with_spill)
        snprintf(f->spill, sizeof f->spill, "/tmp/%s-XXXXXX", tag);
    if (!f->admin || !f->reg || (with_spill && !mkdtemp(f->spill)))
        return -1;
    *state = f;
    return 0;
}

static inline int it_pg_fx_teardown(void **state)
{
    it_pg_fx_t *f = *state;
    char e[256], cmd[128];
    store_pg_schema_drop(f->admin, f->schema, e, sizeof e);
    PQfinish(f->admin);
    tg_instr_reg_destroy(&f->reg);
    int rc = 0;
    if (f->spill[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->spill);
        rc = system(cmd) != 0 ? -1 : 0;
    }
    free(f);
    return rc;
}

/* Writer settings for the fixture: defaults, the test server, its schema, registry, journal. */
static inline store_pg_cfg_t it_pg_fx_cfg(const it_pg_fx_t *f)
{
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = getenv("TG_TEST_PG_DSN");
    c.schema = f->schema;
    c.reg = f->reg;
    c.spill_dir = f->spill[0] ? f->spill : NULL;
    c.log = it_pg_log;
    return c;
}

static inline void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
