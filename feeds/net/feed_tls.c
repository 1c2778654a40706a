/* SPDX-License-Identifier: MIT */
/*
 * Certificate verification failures in words (see feed_tls.h). A few slots per service
 * thread, keyed by the wsi of the attempt: the first failing certificate of a chain is kept
 * (OpenSSL stops there, lws returns its preverify_ok), a success clears the slot.
 * Thread: feed loop (thread-local state).
 */
#include "feeds/net/feed_tls.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

#define TLS_SLOTS 8

typedef struct tls_fail {
    const struct lws *wsi; /* NULL: free */
    int err, depth;
    char subject[160];
} tls_fail_t;

static _Thread_local tls_fail_t g_fail[TLS_SLOTS];
static _Thread_local unsigned g_next;

static tls_fail_t *slot_of(const struct lws *wsi)
{
    for (int i = 0; i < TLS_SLOTS; i++)
        if (g_fail[i].wsi == wsi)
            return &g_fail[i];
    return NULL;
}

const char *feed_tls_verify_class(int e)
{
    switch (e) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_CA:
        return "unknown CA";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return "name mismatch";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return "not yet valid";
    case X509_V_ERR_CERT_REVOKED:
        return "revoked";
    default:
        return "invalid certificate";
    }
}

void feed_tls_verify_seen(const struct lws *wsi, void *x509_ctx, size_t preverify_ok)
{
    X509_STORE_CTX *ctx = x509_ctx;
    tls_fail_t *s = slot_of(wsi);
    if (preverify_ok || !ctx || s)
        return; /* a good certificate, or not the chain's first failure: keep the first */
    s = slot_of(NULL);
    if (!s)
        s = &g_fail[g_next++ % TLS_SLOTS]; /* all busy: reuse the oldest */
    s->wsi = wsi;
    s->err = X509_STORE_CTX_get_error(ctx);
    s->depth = X509_STORE_CTX_get_error_depth(ctx);
    s->subject[0] = 0;
    X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
    if (cert)
        X509_NAME_oneline(X509_get_subject_name(cert), s->subject, (int)sizeof s->subject);
}

bool feed_tls_verify_failure(const struct lws *wsi, char *buf, size_t cap)
{
    tls_fail_t *s = wsi ? slot_of(wsi) : NULL;
    if (!s)
        return false;
    snprintf(buf, cap,
             "server certificate refused (%s): %s (X509 error %d at depth %d, subject %s)",
             feed_tls_verify_class(s->err), X509_verify_cert_error_string(s->err), s->err, s->depth,
             s->subject[0] ? s->subject : "?");
    memset(s, 0, sizeof *s);
    return true;
}

void feed_tls_forget(const struct lws *wsi)
{
    tls_fail_t *s = wsi ? slot_of(wsi) : NULL;
    if (s)
        memset(s, 0, sizeof *s);
}
