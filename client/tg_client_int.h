/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client internals shared by tg_client.c (connections, channels, events) and
 * tg_client_doc.c (documents, decimals, URL). Not installed.
 * Thread: owner of the tg_client_t.
 */
#ifndef TG_CLIENT_INT_H
#define TG_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tickgate/client.h"

#define TGC_NAME_MAX 160

typedef enum tgc_doc_type {
    TGC_DOC_NONE = 0,
    TGC_DOC_BOOK,
    TGC_DOC_TRADE,
    TGC_DOC_CANDLE,
    TGC_DOC_GAP,
    TGC_DOC_BBO,
    TGC_DOC_TRADE_GAP, /* trades lost at the venue (on a trades channel; since 1.2) */
} tgc_doc_type_t;

/** One parsed document (scratch, one per client: ~2 KiB). */
typedef struct tgc_doc {
    tgc_doc_type_t type;
    uint64_t seq, epoch;
    tg_client_book_t book;
    tg_client_trade_t trade;
    tg_client_candle_t candle;
    tg_client_status_t status;
} tgc_doc_t;

/** Parse one document. @return 0; -EINVAL with a reason in *why (static text). */
int tgc_doc_parse(const char *js, size_t len, tgc_doc_t *d, const char **why);

/** Parsed connection URL. */
typedef struct tgc_url {
    char host[256];
    char path[256]; /* unix socket ("" for TCP) */
    int port, db;
    char user[128], password[256];
    int cluster;     /* redis-cluster:// */
    char seeds[512]; /* its "host:port,host:port" (cluster only) */
} tgc_url_t;

/** Parse redis://[[user]:password@]host[:port][/db], unix:///path[?db=N] or
 *  redis-cluster://[[user]:password@]host:port[,host:port...] (db 0 only). @return 0, -EINVAL. */
int tgc_url_parse(const char *url, tgc_url_t *u);

/** One RESP frame of the subscriber connection: an array of up to 4 bulk/integer elements
 *  (n), or an error/status line (n = -1 / 0, text in s[0]). Pointers into the buffer. */
typedef struct tgc_frame {
    int n;
    const char *s[4];
    size_t len[4];
} tgc_frame_t;

/** Parse one frame at p (n bytes): bytes consumed, 0 if incomplete, -1 if not one we read. */
long tgc_resp_frame(const char *p, size_t n, tgc_frame_t *f);
/** Element i of f equals s. */
bool tgc_frame_is(const tgc_frame_t *f, int i, const char *s);
/** Write the RESP command "NAME arg" into buf: its length, 0 if cap is too small. */
size_t tgc_resp_cmd(char *buf, size_t cap, const char *cmd, const char *arg);

#endif
