/* SPDX-License-Identifier: MIT */
/*
 * Client-side deadlines on every wait for a PostgreSQL server (store_pg_io.h).
 *
 * DESIGN
 * Why non-blocking libpq plus poll() and not socket timeouts: libpq waits in poll() on its
 * own, so SO_RCVTIMEO/SO_SNDTIMEO never fire, and keepalives/tcp_user_timeout only see a dead
 * peer, not a live kernel in front of a stopped server (it still ACKs every byte). A watchdog
 * thread that shut the socket down would work but shares the connection across threads. So
 * the connection is non-blocking, every wait is ours: poll(socket, deadline), with the owner's
 * idle hook called between short polls (5 ms) so that its other work (draining a ring) goes on
 * while the server thinks or hangs.
 * Thread: the connection's owner only; nothing here is shared.
 */
#include "storage/pg/store_pg_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <libpq-events.h>

#include "book/tg_clock.h"

#define IDLE_POLL_MS 5

static int io_event(PGEventId id, void *info, void *pass)
{
    (void)id;
    (void)info;
    (void)pass;
    return 1; /* nothing to set up or free: the io belongs to the owner */
}

int store_pg_io_attach(PGconn *c, store_pg_io_t *io)
{
    if (!PQregisterEventProc(c, io_event, "tickgate-io", io) || !PQsetInstanceData(c, io_event, io))
        return -ENOMEM;
    return PQsetnonblocking(c, 1) == 0 ? 0 : -EIO;
}

store_pg_io_t *store_pg_io_of(PGconn *c)
{
    return c ? PQinstanceData(c, io_event) : NULL;
}

static int64_t deadline_of(const store_pg_io_t *io)
{
    return io->timeout_ns > 0 ? tg_clock_mono_ns() + io->timeout_ns : INT64_MAX;
}

/* The io of c (or dflt: no deadline, no idle hook, for a plain connection), reset for a call. */
static store_pg_io_t *io_begin(PGconn *c, store_pg_io_t *dflt)
{
    store_pg_io_t *io = store_pg_io_of(c);
    if (!io)
        io = dflt;
    io->timed_out = false;
    return io;
}

/* Wait until fd is ready for ev, running the idle hook meanwhile.
 * @return 1 ready (or in error: libpq finds out), 0 deadline or abort, -1 poll failed. */
static int wait_fd(store_pg_io_t *io, int fd, short ev, int64_t deadline)
{
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t now = tg_clock_mono_ns();
        if (now >= deadline) {
            io->timed_out = true;
            return 0;
        }
        int idle = io->idle ? io->idle(io->arg) : 0;
        if (idle < 0) {
            io->timed_out = true;
            return 0;
        }
        int ms = -1;
        if (deadline != INT64_MAX) {
            int64_t left = (deadline - now + TG_NS_PER_MS - 1) / TG_NS_PER_MS;
            ms = left > 60000 ? 60000 : (int)left;
        }
        if (io->idle && (ms < 0 || ms > IDLE_POLL_MS))
            ms = IDLE_POLL_MS;
        if (idle > 0)
            ms = 0;
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* A server refusal that is not about our settings: the server is busy or changing state. */
static bool transient_refusal(const char *m)
{
    static const char *const words[] = {
        "starting up", "shutting down",    "in recovery",   "not yet accepting",
        "too many",    "connection slots", "recovery mode", "not accepting connections"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(m, words[i]))
            return true;
    return false;
}

PGconn *store_pg_io_connect(const char *const *keys, const char *const *vals, store_pg_io_t *io,
                            bool *answered, char *err, size_t cap)
{
    *answered = false;
    io->timed_out = false;
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    int64_t deadline = deadline_of(io);
    PostgresPollingStatusType ps =
        PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        int r = wait_fd(io, PQsocket(c), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (r == 0) {
            snprintf(err, cap,
                     "no answer to the connection within %lld ms (server hung or unreachable)",
                     (long long)(io->timeout_ns / TG_NS_PER_MS));
            PQfinish(c);
            return NULL;
        }
        if (r < 0) {
            snprintf(err, cap, "poll: %s", strerror(errno));
            PQfinish(c);
            return NULL;
        }
        ps = PQconnectPoll(c);
    }
    if (ps == PGRES_POLLING_FAILED || PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        /* "FATAL:" marks the server's own answer (libpq's errors never carry it) */
        *answered = strstr(m, "FATAL:") && !transient_refusal(m);
        snprintf(err, cap, "%s", m);
        PQfinish(c);
        return NULL;
    }
    if (store_pg_io_attach(c, io) < 0) {
        snprintf(err, cap, "cannot set up the connection: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

const char *store_pg_io_error(PGconn *c)
{
    store_pg_io_t *io = store_pg_io_of(c);
    if (io && io->timed_out) {
        snprintf(io->msg, sizeof io->msg,
                 "no answer from the server within %lld ms (server hung or unreachable)",
                 (long long)(io->timeout_ns / TG_NS_PER_MS));
        return io->msg;
    }
    return PQerrorMessage(c);
}

int store_pg_io_wait(PGconn *c, bool reply)
{
    store_pg_io_t dflt = {0}, *io = io_begin(c, &dflt);
    int64_t deadline = deadline_of(io);
    for (;;) {
        int fr = PQflush(c);
        if (fr < 0)
            return -EIO;
        if (fr == 0) {
            if (!reply)
                return 0;
            if (!PQconsumeInput(c))
                return -EIO;
            if (!PQisBusy(c))
                return 0;
        }
        int r = wait_fd(io, PQsocket(c), (short)(POLLIN | (fr ? POLLOUT : 0)), deadline);
        if (r == 0)
            return -ETIMEDOUT;
        if (r < 0)
            return -EIO;
        if (fr && !PQconsumeInput(c)) /* read what the server said while we were sending */
            return -EIO;
    }
}

PGresult *store_pg_io_exec(PGconn *c, const char *sql, int n, const char *const *vals)
{
    store_pg_io_t *io = store_pg_io_of(c);
    if (!io)
        return n ? PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0) : PQexec(c, sql);
    io->timed_out = false;
    int ok = n ? PQsendQueryParams(c, sql, n, NULL, vals, NULL, NULL, 0) : PQsendQuery(c, sql);
    if (!ok)
        return NULL;
    PGresult *keep = NULL;
    for (;;) {
        if (store_pg_io_wait(c, true) < 0) {
            PQclear(keep);
            return NULL;
        }
        PGresult *r = PQgetResult(c);
        if (!r)
            break;
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) {
            PQclear(keep); /* like PQexec: the COPY state is the answer */
            return r;
        }
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r); /* keep the first error */
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    return keep;
}

int store_pg_io_put_copy(PGconn *c, const void *p, size_t len)
{
    store_pg_io_t dflt = {0}, *io = io_begin(c, &dflt);
    int64_t deadline = deadline_of(io);
    const char *q = p;
    while (len) {
        size_t n = len > (1u << 30) ? (1u << 30) : len; /* int-sized chunks */
        int r = PQputCopyData(c, q, (int)n);
        if (r < 0)
            return -EIO;
        if (r == 1) {
            q += n;
            len -= n;
            continue;
        }
        int fr = PQflush(c); /* no room: send some, bounded */
        if (fr < 0)
            return -EIO;
        if (fr == 1) {
            int w = wait_fd(io, PQsocket(c), POLLOUT | POLLIN, deadline);
            if (w == 0)
                return -ETIMEDOUT;
            if (w < 0 || !PQconsumeInput(c))
                return -EIO;
        }
    }
    return 0;
}

int store_pg_io_copy_end(PGconn *c, const char *errmsg)
{
    store_pg_io_t dflt = {0}, *io = io_begin(c, &dflt);
    int64_t deadline = deadline_of(io);
    for (;;) {
        int r = PQputCopyEnd(c, errmsg);
        if (r < 0)
            return -EIO;
        if (r == 1)
            return 0;
        int w = wait_fd(io, PQsocket(c), POLLOUT | POLLIN, deadline);
        if (w == 0)
            return -ETIMEDOUT;
        if (w < 0 || !PQconsumeInput(c))
            return -EIO;
    }
}
