/* SPDX-License-Identifier: MIT */
/*
 * libwebsockets client set-up shared by the tools (the replay test client, the latency
 * reference): a client-only context and one connection to a local server, with the loose TLS
 * checks a self-signed test certificate needs. Header-only: each tool links lws itself.
 * Thread: the caller's (lws contexts are not shared).
 */
#ifndef TOOL_LWS_H
#define TOOL_LWS_H

#include <libwebsockets.h>
#include <stdbool.h>

/* TLS to a local test server: self-signed, any host name, expired allowed. */
#define TOOL_LWS_TLS_LOOSE                                                                         \
    (LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |           \
     LCCSCF_ALLOW_EXPIRED)

/** A client-only context (no listening port) over protocols; lws logs errors only.
 *  @param user the context's user pointer (lws_context_user()); may be NULL
 *  @param tls initialise TLS (needed before any wss connection)
 *  @return the context, or NULL when lws could not create it. */
static inline struct lws_context *tool_lws_client_context(const struct lws_protocols *protocols,
                                                          void *user, bool tls)
{
    struct lws_context_creation_info info = {
        .port = CONTEXT_PORT_NO_LISTEN,
        .protocols = protocols,
        .gid = -1,
        .uid = -1,
        .user = user,
        .options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0,
    };
    lws_set_log_level(LLL_ERR, NULL);
    return lws_create_context(&info);
}

/** Start a websocket connection to addr:port path (addr is also the Host and Origin).
 *  @param ssl 0 (plain ws) or LCCSCF_* flags (TOOL_LWS_TLS_LOOSE, ...)
 *  @param userdata the connection's user pointer; may be NULL
 *  @return the connection, or NULL when it could not be started. */
static inline struct lws *tool_lws_connect(struct lws_context *ctx, const char *addr, int port,
                                           const char *path, int ssl, void *userdata)
{
    struct lws_client_connect_info ci = {
        .context = ctx,
        .address = addr,
        .port = port,
        .path = path,
        .host = addr,
        .origin = addr,
        .userdata = userdata,
        .ssl_connection = ssl,
    };
    return lws_client_connect_via_info(&ci);
}

#endif
