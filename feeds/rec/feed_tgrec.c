/* SPDX-License-Identifier: MIT */
/* tgrec v1 reader: whole-file load (zstd or plain), header parse, line iteration. */
#include "feeds/rec/feed_tgrec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "book/tg_err.h"

static int read_all(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n + 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? -errno : -EIO;
            free(b);
            close(fd);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

static int unzstd(const char *in, size_t inlen, char **out, size_t *outlen)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return -ENOMEM;
    size_t cap = inlen * 8 + 4096, len = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        ZSTD_freeDStream(ds);
        return -ENOMEM;
    }
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in, inlen, 0};
    int rc = 0;
    while (ib.pos < ib.size) {
        if (cap - len < 65536) {
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            b = nb;
        }
        ZSTD_outBuffer ob = {b + len, cap - len, 0};
        size_t r = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(r)) {
            rc = TG_EPROTO;
            break;
        }
        len += ob.pos;
        if (r == 0 && ib.pos == ib.size)
            break;
    }
    ZSTD_freeDStream(ds);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[len] = 0;
    *out = b;
    *outlen = len;
    return 0;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static int parse_header(feed_tgrec_t *r)
{
    size_t p = 0;
    int saw_magic = 0;
    while (p < r->len && r->buf[p] == '#') {
        char *nl = memchr(r->buf + p, '\n', r->len - p);
        size_t end = nl ? (size_t)(nl - r->buf) : r->len;
        char *line = r->buf + p;
        size_t n = end - p;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n >= 9 && memcmp(line, "# tgrec 1", 9) == 0)
            saw_magic = 1;
        const char *colon = memchr(line, ':', n);
        if (n > 2 && line[1] == ' ' && colon) {
            const char *key = line + 2;
            size_t klen = (size_t)(colon - key);
            const char *val = colon + 1;
            while (val < line + n && *val == ' ')
                val++;
            size_t vlen = (size_t)(line + n - val);
            if (klen == 5 && memcmp(key, "venue", 5) == 0)
                copy_value(r->venue, sizeof(r->venue), val, vlen);
            else if (klen == 3 && memcmp(key, "url", 3) == 0)
                copy_value(r->url, sizeof(r->url), val, vlen);
            else if (klen == 7 && memcmp(key, "symbols", 7) == 0)
                copy_value(r->symbols, sizeof(r->symbols), val, vlen);
            else if (klen == 4 && memcmp(key, "sent", 4) == 0 && r->n_sent < FEED_TGREC_SENT_MAX) {
                line[n] = 0; /* terminates the value in place */
                r->sent[r->n_sent++] = val;
            }
        }
        p = nl ? end + 1 : r->len;
    }
    if (!saw_magic)
        return TG_EPROTO;
    r->data_off = p;
    r->pos = p;
    size_t lines = 0;
    for (size_t q = p; q < r->len;) {
        char *nl = memchr(r->buf + q, '\n', r->len - q);
        if (!nl) {
            lines++;
            break;
        }
        if ((size_t)(nl - r->buf) > q)
            lines++;
        q = (size_t)(nl - r->buf) + 1;
    }
    r->data_lines = lines;
    return 0;
}

static int open_buf(feed_tgrec_t **out, char *buf, size_t len)
{
    feed_tgrec_t *r = calloc(1, sizeof(*r));
    if (!r) {
        free(buf);
        return -ENOMEM;
    }
    r->buf = buf;
    r->len = len;
    int rc = parse_header(r);
    if (rc < 0) {
        feed_tgrec_close(&r);
        return rc;
    }
    *out = r;
    return 0;
}

int feed_tgrec_open(feed_tgrec_t **out, const char *path)
{
    char *raw = NULL;
    size_t len = 0;
    int rc = read_all(path, &raw, &len);
    if (rc < 0)
        return rc;
    if (len >= 4 && (unsigned char)raw[0] == 0x28 && (unsigned char)raw[1] == 0xb5 &&
        (unsigned char)raw[2] == 0x2f && (unsigned char)raw[3] == 0xfd) {
        char *plain;
        size_t plen;
        rc = unzstd(raw, len, &plain, &plen);
        free(raw);
        if (rc < 0)
            return rc;
        raw = plain;
        len = plen;
    }
    return open_buf(out, raw, len);
}

int feed_tgrec_open_mem(feed_tgrec_t **out, const char *text, size_t len)
{
    char *b = malloc(len + 1);
    if (!b)
        return -ENOMEM;
    memcpy(b, text, len);
    b[len] = 0;
    return open_buf(out, b, len);
}

void feed_tgrec_close(feed_tgrec_t **r)
{
    if (!r || !*r)
        return;
    free((*r)->buf);
    free(*r);
    *r = NULL;
}

void feed_tgrec_rewind(feed_tgrec_t *r)
{
    /* next() replaced each line end it passed by a NUL: put them back, or the next pass
       would see one long line */
    size_t end = r->pos < r->len ? r->pos : r->len;
    for (char *p = r->buf + r->data_off, *e = r->buf + end;
         p < e && (p = memchr(p, 0, (size_t)(e - p))) != NULL; p++)
        *p = '\n';
    r->pos = r->data_off;
    r->line_no = 0;
}

int feed_tgrec_next(feed_tgrec_t *r, int64_t *ts_ns, const char **frame, size_t *len)
{
    for (;;) {
        if (r->pos >= r->len)
            return 0;
        char *line = r->buf + r->pos;
        char *nl = memchr(line, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - line) : r->len - r->pos;
        r->pos += n + (nl ? 1 : 0);
        r->line_no++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        line[n] = 0;
        if (n == 0)
            continue;
        int64_t ts = 0;
        size_t i = 0;
        while (i < n && line[i] >= '0' && line[i] <= '9' && i < 19)
            ts = ts * 10 + (line[i++] - '0');
        if (i == 0 || i >= n || line[i] != ' ') {
            *frame = line;
            *len = n;
            return TG_EPROTO;
        }
        *ts_ns = ts;
        *frame = line + i + 1;
        *len = n - i - 1;
        return 1;
    }
}

int feed_tgrec_is_generated(const char *frame, size_t len)
{
    /* tgrec wraps non-websocket records as {"stream":"...","generated":true,"data":...} */
    size_t lim = len < 200 ? len : 200;
    return memmem(frame, lim, "\"generated\":true", 16) != NULL;
}
