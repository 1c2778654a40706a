/* SPDX-License-Identifier: MIT */
/*
 * Redis connection settings and handshake for the publisher (store_rds.c) and its probe.
 *
 * URLs: redis://[[user]:password@]host[:port][/db] (percent-escapes decoded in user and
 * password; [v6addr] accepted) and unix:///path/to/socket[?db=N]. Without a URL the config's
 * host/port/db are used. The password comes from the URL or the config, else from the
 * environment variable named by password_env (REDISCLI_AUTH, as redis-cli does). It is kept
 * in one buffer, sent only in AUTH, never formatted into a message, and wiped at deinit.
 *
 * Thread: any (no shared state).
 */
#include "storage/redis/store_rds_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "book/tg_err.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copy s[0..n) to out (cap bytes) decoding %XX. */
static int copy_decoded(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n + 0 || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
                return -EINVAL;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (o + 1 >= cap)
            return -EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 9)
        return -EINVAL;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_tcp_url(store_rds_conn_t *c, const char *s)
{
    const char *at = strrchr(s, '@');
    const char *hostpart = s;
    if (at) { /* [user][:password]@ */
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ulen = colon ? (size_t)(colon - s) : (size_t)(at - s);
        if (copy_decoded(c->user, sizeof(c->user), s, ulen))
            return -EINVAL;
        if (colon && copy_decoded(c->pass, sizeof(c->pass), colon + 1, (size_t)(at - colon - 1)))
            return -EINVAL;
        if (!colon) { /* redis://password@host (redis-cli accepts it): no user */
            memcpy(c->pass, c->user,
                   sizeof(c->pass) < sizeof(c->user) ? sizeof(c->pass) : sizeof(c->user));
            c->user[0] = '\0';
        }
        hostpart = at + 1;
    }
    const char *slash = strchr(hostpart, '/');
    size_t hlen = slash ? (size_t)(slash - hostpart) : strlen(hostpart);
    const char *hend = hostpart + hlen;
    const char *port = NULL;
    if (hlen && hostpart[0] == '[') {
        const char *rb = memchr(hostpart, ']', hlen);
        if (!rb)
            return -EINVAL;
        if ((size_t)(rb - hostpart - 1) >= sizeof(c->host))
            return -EINVAL;
        memcpy(c->host, hostpart + 1, (size_t)(rb - hostpart - 1));
        c->host[rb - hostpart - 1] = '\0';
        if (rb + 1 < hend) {
            if (rb[1] != ':')
                return -EINVAL;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(hostpart, ':', hlen);
        size_t n = colon ? (size_t)(colon - hostpart) : hlen;
        if (n >= sizeof(c->host))
            return -EINVAL;
        memcpy(c->host, hostpart, n);
        c->host[n] = '\0';
        if (colon)
            port = colon + 1;
    }
    if (!c->host[0])
        return -EINVAL;
    if (port && parse_int(port, (size_t)(hend - port), 1, 65535, &c->port))
        return -EINVAL;
    if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 100000, &c->db))
        return -EINVAL;
    return 0;
}

static int parse_unix_url(store_rds_conn_t *c, const char *s)
{
    const char *q = strchr(s, '?');
    size_t n = q ? (size_t)(q - s) : strlen(s);
    if (n == 0 || n >= sizeof(c->unix_path) || s[0] != '/')
        return -EINVAL;
    memcpy(c->unix_path, s, n);
    c->unix_path[n] = '\0';
    if (q) {
        if (strncmp(q + 1, "db=", 3) != 0)
            return -EINVAL;
        if (parse_int(q + 4, strlen(q + 4), 0, 100000, &c->db))
            return -EINVAL;
    }
    return 0;
}

int store_rds_conn_init(store_rds_conn_t *c, const store_rds_cfg_t *cfg)
{
    memset(c, 0, sizeof(*c));
    if (!cfg)
        return -EINVAL;
    c->port = cfg->port ? cfg->port : 6379;
    c->db = cfg->db;
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 1000;
    c->command_timeout_ms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 2000;
    int err = 0;
    if (cfg->url && cfg->url[0]) {
        if (strncmp(cfg->url, "redis://", 8) == 0)
            err = parse_tcp_url(c, cfg->url + 8);
        else if (strncmp(cfg->url, "unix://", 7) == 0)
            err = parse_unix_url(c, cfg->url + 7);
        else
            err = -EINVAL;
    } else {
        const char *h = cfg->host ? cfg->host : "127.0.0.1";
        if (!h[0] || strlen(h) >= sizeof(c->host))
            err = -EINVAL;
        else
            strcpy(c->host, h);
    }
    if (!err && (c->port < 1 || c->port > 65535 || c->db < 0))
        err = -EINVAL;
    if (!err && cfg->username && cfg->username[0]) {
        if (strlen(cfg->username) >= sizeof(c->user))
            err = -EINVAL;
        else
            strcpy(c->user, cfg->username);
    }
    if (!err && cfg->password) {
        if (strlen(cfg->password) >= sizeof(c->pass))
            err = -EINVAL;
        else
            strcpy(c->pass, cfg->password);
    } else if (!err && !c->pass[0] && cfg->password_env && cfg->password_env[0]) {
        const char *env = getenv(cfg->password_env);
        if (env && strlen(env) < sizeof(c->pass))
            strcpy(c->pass, env);
    }
    if (err) {
        store_rds_conn_deinit(c);
        return err;
    }
    if (c->unix_path[0])
        snprintf(c->where, sizeof(c->where), "unix:%s/%d", c->unix_path, c->db);
    else
        snprintf(c->where, sizeof(c->where), "%s:%d/%d", c->host, c->port, c->db);
    return 0;
}

void store_rds_conn_deinit(store_rds_conn_t *c)
{
    /* volatile pointer: the compiler may not drop the wipe of a buffer about to die */
    volatile char *v = c->pass;
    for (size_t i = 0; i < sizeof(c->pass); i++)
        v[i] = 0;
}

static int io_err(int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS)
        return -ETIMEDOUT; /* SO_RCVTIMEO/SO_SNDTIMEO expired */
    return e > 0 ? -e : -EIO;
}

/* hiredis' text for a failed command, or a plain one for a timeout. */
static const char *ctx_why(const store_rds_conn_t *c, redisContext *ctx, int err, char *tmp,
                           size_t len)
{
    if (err == -ETIMEDOUT) {
        snprintf(tmp, len, "no reply within %d ms (command timeout)", c->command_timeout_ms);
        return tmp;
    }
    return ctx->errstr;
}

redisContext *store_rds_conn_open(const store_rds_conn_t *c, int *err, char *errbuf, size_t len)
{
    struct timeval ct = {c->connect_timeout_ms / 1000, (c->connect_timeout_ms % 1000) * 1000};
    struct timeval cmd = {c->command_timeout_ms / 1000, (c->command_timeout_ms % 1000) * 1000};
    char why[96];
    errno = 0;
    redisContext *ctx = c->unix_path[0] ? redisConnectUnixWithTimeout(c->unix_path, ct)
                                        : redisConnectWithTimeout(c->host, c->port, ct);
    int e = errno;
    if (!ctx) {
        *err = -ENOMEM;
        snprintf(errbuf, len, "redis %s: connect: out of memory", c->where);
        return NULL;
    }
    if (ctx->err) {
        *err = ctx->err == REDIS_ERR_IO ? io_err(e) : TG_EREDIS;
        if (*err == -EINPROGRESS || strstr(ctx->errstr, "timed out"))
            *err = -ETIMEDOUT;
        snprintf(errbuf, len, "redis %s: connect: %s", c->where, ctx->errstr);
        goto fail;
    }
    if (redisSetTimeout(ctx, cmd) != REDIS_OK || (!c->unix_path[0] && redisEnableKeepAlive(ctx))) {
        *err = io_err(errno);
        snprintf(errbuf, len, "redis %s: socket options: %s", c->where, ctx->errstr);
        goto fail;
    }
    if (c->pass[0]) {
        const char *argv[3] = {"AUTH", c->user, c->pass};
        size_t argl[3] = {4, strlen(c->user), strlen(c->pass)};
        int argc = c->user[0] ? 3 : 2;
        if (argc == 2) {
            argv[1] = c->pass;
            argl[1] = argl[2];
        }
        redisReply *r = redisCommandArgv(ctx, argc, argv, argl);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            *err = r ? TG_EREDIS : io_err(errno);
            /* The server's text (WRONGPASS ...) never echoes the password. */
            snprintf(errbuf, len, "redis %s: AUTH failed: %s", c->where, r ? r->str : ctx->errstr);
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (c->db) {
        redisReply *r = redisCommand(ctx, "SELECT %d", c->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            *err = r ? TG_EREDIS : io_err(errno);
            snprintf(errbuf, len, "redis %s: SELECT %d failed: %s", c->where, c->db,
                     r ? r->str : ctx_why(c, ctx, *err, why, sizeof(why)));
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    redisReply *r = redisCommand(ctx, "PING"); /* catches NOAUTH when no password is set */
    if (!r || r->type == REDIS_REPLY_ERROR) {
        *err = r ? TG_EREDIS : io_err(errno);
        snprintf(errbuf, len, "redis %s: PING failed: %s", c->where,
                 r ? r->str : ctx_why(c, ctx, *err, why, sizeof(why)));
        freeReplyObject(r);
        goto fail;
    }
    freeReplyObject(r);
    *err = 0;
    return ctx;
fail:
    redisFree(ctx);
    return NULL;
}
