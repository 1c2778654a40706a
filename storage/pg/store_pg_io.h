/* SPDX-License-Identifier: MIT */
/*
 * Client-side deadlines on every wait for a PostgreSQL server (internal to the writer; not a
 * public header). libpq's blocking calls (PQconnectdb, PQexec, PQputCopyData, PQgetResult)
 * wait in poll() without any limit: a server that hangs instead of dying (every postgres
 * process stopped, a stuck disk, a partition that drops nothing but answers nothing) keeps
 * them waiting forever, because the kernel still accepts and acknowledges the bytes, so
 * neither keepalives nor tcp_user_timeout fire. Here the connection is non-blocking
 * (PQconnectStartParams/PQconnectPoll, PQsetnonblocking) and every wait is a poll() on the
 * socket with a deadline; while it waits, an idle callback lets the owner do other work
 * (the writer moves ring records into its batch or into the journal, so a slow server never
 * stalls the builder).
 *
 * A connection gets its settings through libpq's per-connection instance data
 * (PQregisterEventProc/PQsetInstanceData), so store_pg_schema.c's functions, which take a bare
 * PGconn, get the same deadlines when the writer calls them, and stay blocking for tests and
 * tools that pass a plain connection.
 *
 * After a wait timed out, the connection is in the middle of a command: the caller drops it
 * (PQfinish is safe: the connection is non-blocking, so its goodbye message never waits).
 *
 * Thread: the owner of the connection (writer:pg, or main before the writer starts).
 */
#ifndef STORE_PG_IO_H
#define STORE_PG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/** Deadlines and the idle hook of one connection.  Thread: the connection's owner. */
typedef struct store_pg_io {
    int64_t timeout_ns; /* longest wait for the server in any one call (0: none) */
    /* Called while waiting, every few ms. @return > 0 work was done (call again at once),
     * 0 nothing to do, < 0 give up the wait now (stop requested and out of time). */
    int (*idle)(void *arg);
    void *arg;
    bool timed_out; /* set by the last call that gave up, cleared by each new call */
    char msg[160];  /* store_pg_io_error() text */
} store_pg_io_t;

/**
 * Connect without blocking: PQconnectStartParams + PQconnectPoll, each wait bounded by
 * io->timeout_ns (the conninfo's connect_timeout is not used by libpq in this mode). On
 * success the connection is non-blocking and io is attached to it.
 * @param answered Set to true when the server answered the start-up with an error of its own
 *        (authentication failed, no such database or role): a settings problem, not an outage.
 * @return the connection (CONNECTION_OK), or NULL with the reason in err.  Thread: owner.
 */
PGconn *store_pg_io_connect(const char *const *keys, const char *const *vals, store_pg_io_t *io,
                            bool *answered, char *err, size_t cap);

/** Attach io to c (instance data) and make c non-blocking. @return 0 or -ENOMEM. */
int store_pg_io_attach(PGconn *c, store_pg_io_t *io);

/** The io attached to c, or NULL (a plain blocking connection).  Thread: owner. */
store_pg_io_t *store_pg_io_of(PGconn *c);

/**
 * Run one command string (n == 0: may hold several statements, like PQexec) or one statement
 * with text parameters (like PQexecParams), and return its result: the first error, else the
 * last result; a COPY ... FROM STDIN returns its PGRES_COPY_IN result. Without io attached
 * this is PQexec/PQexecParams. With io: NULL when the server did not answer within the
 * deadline (io->timed_out) or the connection failed (PQerrorMessage).  Thread: owner.
 */
PGresult *store_pg_io_exec(PGconn *c, const char *sql, int n, const char *const *vals);

/**
 * Wait until everything queued is sent and, with reply, until the answer is complete
 * (PQisBusy false: PQgetResult will not block).
 * @return 0; -ETIMEDOUT (deadline, io->timed_out set); -EIO (connection failed).
 * Thread: owner.
 */
int store_pg_io_wait(PGconn *c, bool reply);

/** Error text of the last failed call on c: the deadline when it gave up, else libpq's.
 *  Valid until the next call on c.  Thread: owner. */
const char *store_pg_io_error(PGconn *c);

/** PQputCopyData that waits (bounded) for room in the output buffer.
 *  @return 0; -ETIMEDOUT; -EIO.  Thread: owner. */
int store_pg_io_put_copy(PGconn *c, const void *p, size_t len);

/** PQputCopyEnd(errmsg), then send it all (bounded). @return 0; -ETIMEDOUT; -EIO. */
int store_pg_io_copy_end(PGconn *c, const char *errmsg);

#endif
