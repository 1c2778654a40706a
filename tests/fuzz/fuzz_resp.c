/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the RESP replies libtickgate-client reads on its subscriber connection
 * (tgc_resp_frame in client/tg_client_doc.c), then the document of every pub/sub message as
 * tg_client.c does (tgc_doc_parse). The input is the byte stream from the server.
 * Checked besides ASan/UBSan: a frame consumes at most the bytes given and its elements lie
 * inside them; every strict prefix of a complete frame reads as incomplete (0), never as an
 * error or another frame, so a frame split across reads parses the same (all prefixes up to
 * 512 bytes, 16 spread prefixes beyond).
 */
#include <string.h>

#include "client/tg_client_int.h"
#include "fuzz_common.h"

static void check_frame(const char *p, size_t n, long k, const tgc_frame_t *f)
{
    FZ_CHECK((size_t)k <= n, "frame of %ld bytes in %zu", k, n);
    FZ_CHECK(f->n >= -1 && f->n <= 4, "frame with %d elements", f->n);
    int elems = f->n < 1 ? 1 : f->n;
    for (int i = 0; i < elems; i++)
        FZ_CHECK(f->s[i] >= p && f->s[i] + f->len[i] <= p + k,
                 "element %d outside its frame (%ld bytes)", i, k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the stream in a buffer of exactly its size: ASan sees any read past it */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t pos = 0;
    while (pos < size) {
        tgc_frame_t f;
        memset(&f, 0, sizeof(f));
        long k = tgc_resp_frame(buf + pos, size - pos, &f);
        if (k <= 0)
            break;
        check_frame(buf + pos, size - pos, k, &f);
        size_t step = k > 512 ? (size_t)k / 16 : 1;
        for (size_t m = 0; m < (size_t)k; m += step) {
            tgc_frame_t g;
            long j = tgc_resp_frame(buf + pos, m, &g);
            FZ_CHECK(j == 0, "a prefix of %zu bytes of a %ld-byte frame reads as %ld", m, k, j);
        }
        const char *msg = NULL;
        size_t ml = 0;
        if (tgc_frame_is(&f, 0, "message") && f.n == 3)
            msg = f.s[2], ml = f.len[2];
        else if (tgc_frame_is(&f, 0, "pmessage") && f.n == 4)
            msg = f.s[3], ml = f.len[3];
        if (msg) {
            tgc_doc_t d;
            const char *why;
            (void)tgc_doc_parse(msg, ml, &d, &why);
        }
        pos += (size_t)k;
    }
    free(buf);
    return 0;
}
