/* SPDX-License-Identifier: MIT */
/*
 * Why a TLS handshake was refused, in words: libwebsockets 4.1 reports a failed server
 * certificate verification as "SSL err 1: error:00000001:lib(0)::reason(1)". The transport
 * records OpenSSL's verification result per connection attempt (the
 * LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION callback, sent to protocol 0) and,
 * when the attempt fails, logs which check failed: unknown CA, name mismatch, expired, ...
 * with X509_verify_cert_error_string() and the certificate's subject.
 *
 * Thread: the feed loop's lws service thread (the records are per thread: the verification
 * and the connection error of one attempt happen on the same thread).
 */
#ifndef FEED_TLS_H
#define FEED_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct lws;

/**
 * Record OpenSSL's verdict on one certificate of wsi's server chain.
 * @param x509_ctx the callback's `user` (X509_STORE_CTX *), borrowed for the call.
 * @param preverify_ok the callback's `len`: 0 when the certificate failed a check.
 * The decision is left to OpenSSL/lws (the callback must return 0).  Thread: feed loop.
 */
void feed_tls_verify_seen(const struct lws *wsi, void *x509_ctx, size_t preverify_ok);

/**
 * If wsi's last handshake failed a certificate check, write one line saying which into buf
 * ("server certificate refused (unknown CA): self-signed certificate (X509 error 18 at depth
 * 0, subject CN=127.0.0.1)") and forget it.
 * @return true if written; false (buf untouched) when no check failed for wsi.
 * Thread: feed loop.
 */
bool feed_tls_verify_failure(const struct lws *wsi, char *buf, size_t cap);

/** Forget what was recorded for wsi (its socket is destroyed: the address may be reused).
 *  Thread: feed loop. */
void feed_tls_forget(const struct lws *wsi);

/** The class of an X509_V_ERR_* code: "unknown CA", "name mismatch", "expired",
 *  "not yet valid", "revoked" or "invalid certificate".  Thread: any. */
const char *feed_tls_verify_class(int x509_err);

#endif
