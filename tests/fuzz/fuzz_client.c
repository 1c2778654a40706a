/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: what libtickgate-client reads from Redis (client/tg_client_doc.c): the
 * documents (tgc_doc_parse: books, trades, candles, gaps, BBO as store_rds_fmt.c writes them),
 * the decimals in them (tg_client_dec_parse) and the connection URL (tgc_url_parse).
 * Checked besides ASan/UBSan: a decimal that parses prints as text that parses back to an
 * equal value; a parsed document's book has at most the levels its arrays hold; a URL that
 * parses has a NUL-terminated host (or socket path) and a port in 1..65535.
 */
#include <string.h>

#include "client/tg_client_int.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *js = malloc(size ? size : 1);
    memcpy(js, data, size);
    tgc_doc_t d;
    const char *why = NULL;
    if (tgc_doc_parse(js, size, &d, &why) != 0)
        FZ_CHECK(why != NULL, "error without a reason");
    tg_client_dec_t v, w;
    if (tg_client_dec_parse(js, size, &v) == 0) {
        char t[TG_CLIENT_DEC_TEXT_MAX];
        size_t n = tg_client_dec_text(v, t, sizeof(t));
        FZ_CHECK(n > 0 && n < sizeof(t), "decimal text of %zu bytes", n);
        FZ_CHECK(tg_client_dec_parse(t, n, &w) == 0 && tg_client_dec_cmp(v, w) == 0,
                 "decimal '%.*s' printed as '%s' does not read back", (int)(size > 64 ? 64 : size),
                 js, t);
    }
    free(js);
    if (size < 2048) {
        char url[2048];
        memcpy(url, data, size);
        url[size] = '\0';
        tgc_url_t u;
        if (tgc_url_parse(url, &u) == 0) {
            FZ_CHECK(memchr(u.host, 0, sizeof(u.host)) && memchr(u.path, 0, sizeof(u.path)),
                     "host/path not terminated");
            FZ_CHECK(u.cluster ? u.seeds[0] && memchr(u.seeds, 0, sizeof(u.seeds))
                               : u.path[0] || (u.host[0] && u.port >= 1 && u.port <= 65535),
                     "url '%s': host '%s' port %d seeds '%s'", url, u.host, u.port, u.seeds);
        }
    }
    return 0;
}
