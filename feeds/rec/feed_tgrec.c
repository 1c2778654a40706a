/* SPDX-License-Identifier: MIT */
/*
 * tgrec v1 reader: header parse, line iteration, whole-file or streaming (see feed_tgrec.h).
 *
 * DESIGN
 * One buffer `buf` holds text; `fill()` appends to it from the file (read(2) straight into
 * buf for plain text; for zstd, compressed blocks of ZIN_SIZE bytes decompressed into buf).
 * In stream mode fill() first moves the unread tail [pos, len) to the front (a part of one
 * line, usually a few hundred bytes) and grows buf only when that tail fills it, i.e. when a
 * single line is longer than the window: memory is max(window, 2 x longest line) + the zstd
 * context, independent of the file's size. Lines are cut in place: the '\n' becomes a NUL and
 * the frame is a view into buf. In whole-file mode fill() never moves anything and grows buf
 * to the text's size (known in advance from fstat or the zstd frame header when it is there).
 * Invariant: len < cap, so buf[len] can always take the NUL of a last line without '\n'.
 * Threads: a stream of a zstd file has a decompression thread (zt_main, below) that owns the
 * decoder, the compressed buffer and the fd while it runs; everything else, and the caller,
 * stays on the reader's thread. close() and rewind() stop and join it first.
 */
#include "feeds/rec/feed_tgrec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>
/* ZSTD_createDStream_advanced (custom allocator): exported by libzstd >= 1.4 (Debian 12: 1.5.4) */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "book/tg_err.h"
#include "book/tg_grow.h"
#include "book/tg_own.h"
#include "feeds/feed_digits.h"

#define ZIN_SIZE ((size_t)128 << 10) /* compressed bytes per read(2) (~1.5 MB of text) */

/*
 * zstd's allocations: the large ones (the frame window, up to 8 MiB for the recordings) on
 * transparent huge pages. Touching 8 MiB of fresh 4 KiB pages costs ~2 000 page faults, which
 * on the VMs measured took half of the whole process's time (docs/BENCHMARKS.md "Offline").
 */
#define HUGE_MIN  ((size_t)1 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

static void *z_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (size < HUGE_MIN)
        return malloc(size);
    void *p = NULL;
    size_t n = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, n) != 0)
        return NULL;
    (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: without THP it stays 4 KiB pages */
    return p;
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

static int is_zstd_magic(const unsigned char *m)
{
    return m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
}

static int grow(feed_tgrec_t *r, size_t want)
{
    return tg_grow(&r->buf, &r->cap, want, 1, 4096);
}

static ssize_t read_some(int fd, void *dst, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, dst, n);
        if (k >= 0 || errno != EINTR)
            return k < 0 ? -errno : k;
    }
}

/* Decompress into dst[0 .. room). @return bytes written (0: end of input), or < 0.
 * Thread: the reader's, or its decompression thread while that runs (owns zs, zin, fd). */
static ssize_t zstd_out(feed_tgrec_t *r, char *dst, size_t room, uint64_t *file_bytes)
{
    ZSTD_outBuffer ob = {dst, room, 0};
    while (ob.pos < ob.size) {
        if (r->zin_pos == r->zin_len && !r->zin_eof) {
            ssize_t k = read_some(r->fd, r->zin, ZIN_SIZE);
            if (k < 0)
                return k;
            if (k == 0)
                r->zin_eof = 1;
            r->zin_len = (size_t)k;
            r->zin_pos = 0;
            *file_bytes += (uint64_t)k;
        }
        ZSTD_inBuffer ib = {r->zin, r->zin_len, r->zin_pos};
        size_t out0 = ob.pos;
        size_t z = ZSTD_decompressStream(r->zs, &ob, &ib);
        if (ZSTD_isError(z))
            return -EBADMSG;
        int moved = ob.pos != out0 || ib.pos != r->zin_pos;
        r->zin_pos = ib.pos;
        if (moved) /* a call without input after a frame's end asks for the next header */
            r->zlast = z;
        if (!moved) {
            if (r->zin_eof)
                break;
            if (r->zin_pos < r->zin_len)
                return -EBADMSG; /* input left and room for output, yet no progress */
        }
    }
    if (ob.pos == 0 && r->zin_eof && r->zlast != 0)
        return -EBADMSG; /* the input ended inside a zstd frame: truncated file */
    return (ssize_t)ob.pos;
}

/*
 * Decompression thread (stream mode, zstd): decompresses ahead into two blocks while the
 * reader's thread parses, so zstd and the handler run on two cores. Blocks are handed over
 * under zt->mu: the producer fills block i while !full[i], then sets full[i]; the consumer
 * copies a full block into the window and clears full[i]. A block with n <= 0 ends the
 * stream (0: end, < 0: the error); the producer stops after it.
 * Thread: "tgrec-unzstd" (owner of zs, zin, fd while running); the reader's thread joins it.
 */
#define ZT_BLOCK ((size_t)64 << 10) /* with the 128 KiB window: no growth, few page faults */

struct feed_tgrec_zt {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *blk[2];
    ssize_t n[2];       /* bytes in the block, or 0 / error at the end */
    uint64_t fbytes[2]; /* file bytes read for it */
    int full[2];        /* guarded by mu */
    int stop;           /* guarded by mu: the reader closes or rewinds */
    unsigned next;      /* consumer: the block to take next */
};

static void *zt_main(void *arg)
{
    feed_tgrec_t *r = arg;
    struct feed_tgrec_zt *zt = r->zt;
    for (unsigned i = 0;; i ^= 1) {
        pthread_mutex_lock(&zt->mu);
        while (zt->full[i] && !zt->stop)
            pthread_cond_wait(&zt->cv, &zt->mu);
        int stop = zt->stop;
        pthread_mutex_unlock(&zt->mu);
        if (stop)
            return NULL;
        uint64_t fb = 0;
        ssize_t n = zstd_out(r, zt->blk[i], ZT_BLOCK, &fb);
        pthread_mutex_lock(&zt->mu);
        zt->n[i] = n;
        zt->fbytes[i] = fb;
        zt->full[i] = 1;
        pthread_cond_broadcast(&zt->cv);
        pthread_mutex_unlock(&zt->mu);
        if (n <= 0)
            return NULL;
    }
}

/* Free the decompression thread's state (its thread joined or never started). */
static void zt_free(feed_tgrec_t *r)
{
    struct feed_tgrec_zt *zt = r->zt;
    pthread_mutex_destroy(&zt->mu);
    pthread_cond_destroy(&zt->cv);
    free(zt->blk[0]);
    free(zt->blk[1]);
    free(zt);
    r->zt = NULL;
}

static void zt_stop(feed_tgrec_t *r)
{
    struct feed_tgrec_zt *zt = r->zt;
    if (!zt)
        return;
    pthread_mutex_lock(&zt->mu);
    zt->stop = 1;
    pthread_cond_broadcast(&zt->cv);
    pthread_mutex_unlock(&zt->mu);
    pthread_join(zt->th, NULL);
    zt_free(r);
}

static int zt_start(feed_tgrec_t *r)
{
    struct feed_tgrec_zt *zt = calloc(1, sizeof(*zt));
    if (!zt)
        return -ENOMEM;
    zt->blk[0] = malloc(ZT_BLOCK);
    zt->blk[1] = malloc(ZT_BLOCK);
    if (!zt->blk[0] || !zt->blk[1]) {
        free(zt->blk[0]);
        free(zt->blk[1]);
        free(zt);
        return -ENOMEM;
    }
    pthread_mutex_init(&zt->mu, NULL);
    pthread_cond_init(&zt->cv, NULL);
    r->zt = zt;
    int rc = pthread_create(&zt->th, NULL, zt_main, r);
    if (rc != 0) {
        zt_free(r);
        return -rc;
    }
    return 0;
}

/* Take the next block of the decompression thread into buf[len...]. */
static ssize_t zt_take(feed_tgrec_t *r)
{
    struct feed_tgrec_zt *zt = r->zt;
    unsigned i = zt->next;
    pthread_mutex_lock(&zt->mu);
    while (!zt->full[i])
        pthread_cond_wait(&zt->cv, &zt->mu);
    pthread_mutex_unlock(&zt->mu);
    ssize_t n = zt->n[i];
    r->file_bytes += zt->fbytes[i];
    if (n > 0) {
        if (r->len + (size_t)n + 1 > r->cap) {
            int rc = grow(r, r->len + (size_t)n + 1);
            if (rc < 0)
                return rc; /* the block stays full: the same error next time */
        }
        memcpy(r->buf + r->len, zt->blk[i], (size_t)n);
        pthread_mutex_lock(&zt->mu);
        zt->full[i] = 0;
        pthread_cond_broadcast(&zt->cv);
        pthread_mutex_unlock(&zt->mu);
        zt->next = i ^ 1;
    }
    return n;
}

/*
 * Append more text to buf (stream: after moving the unread tail to the front).
 * @return bytes added, 0 at the end of the text (r->eof set), or < 0.
 */
static ssize_t fill(feed_tgrec_t *r)
{
    if (r->eof)
        return 0;
    if (r->stream && r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len + 1 >= r->cap) {
        int rc = grow(r, r->cap * 2);
        if (rc < 0)
            return rc;
    }
    ssize_t k;
    if (r->zt) {
        k = zt_take(r);
    } else if (r->zs) {
        k = zstd_out(r, r->buf + r->len, r->cap - 1 - r->len, &r->file_bytes);
    } else {
        k = read_some(r->fd, r->buf + r->len, r->cap - 1 - r->len);
        if (k > 0)
            r->file_bytes += (uint64_t)k;
    }
    if (k < 0)
        return k;
    if (k == 0)
        r->eof = 1;
    r->len += (size_t)k;
    return k;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

/* Read the "# ..." lines at buf[pos...]; sent texts are copied to r->hdr. */
static int parse_header(feed_tgrec_t *r)
{
    int saw_magic = 0;
    size_t sent_off[FEED_TGREC_SENT_MAX], hdr_len = 0, hdr_cap = 0;
    for (;;) {
        while (r->pos >= r->len && !r->eof) { /* need one byte to see whether it is '#' */
            ssize_t k = fill(r);
            if (k < 0)
                return (int)k;
        }
        if (r->pos >= r->len || r->buf[r->pos] != '#')
            break;
        char *nl;
        while ((nl = memchr(r->buf + r->pos, '\n', r->len - r->pos)) == NULL && !r->eof) {
            ssize_t k = fill(r);
            if (k < 0)
                return (int)k;
        }
        char *line = r->buf + r->pos;
        size_t n = nl ? (size_t)(nl - line) : r->len - r->pos;
        r->pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n >= 9 && memcmp(line, "# tgrec 1", 9) == 0)
            saw_magic = 1;
        const char *colon = memchr(line, ':', n);
        if (n <= 2 || line[1] != ' ' || !colon)
            continue;
        const char *key = line + 2;
        size_t klen = (size_t)(colon - key);
        const char *val = colon + 1;
        while (val < line + n && *val == ' ')
            val++;
        size_t vlen = (size_t)(line + n - val);
        if (klen == 5 && memcmp(key, "venue", 5) == 0) {
            copy_value(r->venue, sizeof(r->venue), val, vlen);
        } else if (klen == 3 && memcmp(key, "url", 3) == 0) {
            copy_value(r->url, sizeof(r->url), val, vlen);
        } else if (klen == 7 && memcmp(key, "symbols", 7) == 0) {
            copy_value(r->symbols, sizeof(r->symbols), val, vlen);
        } else if (klen == 4 && memcmp(key, "sent", 4) == 0 && r->n_sent < FEED_TGREC_SENT_MAX) {
            if (tg_grow(&r->hdr, &hdr_cap, hdr_len + vlen + 1, 1, 1024) < 0)
                return -ENOMEM;
            memcpy(r->hdr + hdr_len, val, vlen);
            r->hdr[hdr_len + vlen] = 0;
            sent_off[r->n_sent++] = hdr_len;
            hdr_len += vlen + 1;
        }
    }
    for (size_t i = 0; i < r->n_sent; i++)
        r->sent[i] = r->hdr + sent_off[i];
    if (!saw_magic)
        return TG_EPROTO;
    r->data_off = r->stream ? (size_t)(r->base + r->pos) : r->pos;
    return 0;
}

static size_t count_lines(const char *b, size_t from, size_t len)
{
    size_t lines = 0;
    for (size_t q = from; q < len;) {
        const char *nl = memchr(b + q, '\n', len - q);
        if (!nl) {
            lines++;
            break;
        }
        if ((size_t)(nl - b) > q)
            lines++;
        q = (size_t)(nl - b) + 1;
    }
    return lines;
}

/* Open the file and set up the decompressor; *size_hint = the text size when known. */
static int open_file(feed_tgrec_t *r, const char *path, size_t *size_hint)
{
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return -errno;
    struct stat st;
    if (fstat(r->fd, &st) < 0)
        return -errno;
    *size_hint = (size_t)st.st_size;
    unsigned char m[4] = {0};
    ssize_t k = pread(r->fd, m, sizeof(m), 0);
    if (k < 0)
        return -errno;
    if (k < 4 || !is_zstd_magic(m)) {
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        return 0;
    }
    r->zs = ZSTD_createDStream_advanced((ZSTD_customMem){z_alloc, z_free, NULL});
    r->zin = malloc(ZIN_SIZE);
    if (!r->zs || !r->zin)
        return -ENOMEM;
    ZSTD_initDStream(r->zs);
    /* the text size, when the first frame says it (zstd(1) writes it for files) */
    unsigned char head[18]; /* ZSTD_FRAMEHEADERSIZE_MAX (static-linking-only API) */
    k = pread(r->fd, head, sizeof(head), 0);
    unsigned long long cs = k > 0 ? ZSTD_getFrameContentSize(head, (size_t)k) : 0;
    *size_hint = cs < ((size_t)1 << 40) ? (size_t)cs : 0;
    (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return 0;
}

/* The end of every open: r goes to *out when rc >= 0 (a success), else it is closed.
 * @return 0, or rc < 0. */
static int opened(feed_tgrec_t **out, feed_tgrec_t *r, int rc)
{
    if (rc < 0) {
        feed_tgrec_close(&r);
        return rc;
    }
    *out = r;
    return 0;
}

static int open_common(feed_tgrec_t **out, const char *path, int stream, size_t window)
{
    feed_tgrec_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->stream = stream;
    r->fd = -1;
    size_t hint = 0;
    int rc = open_file(r, path, &hint);
    if (rc < 0)
        goto done;
    if (stream && r->zs && (rc = zt_start(r)) < 0)
        goto done;
    if (stream)
        rc = grow(r, window ? window : FEED_TGREC_WINDOW);
    else
        rc = grow(r, hint + 2 > 4096 ? hint + 2 : 4096); /* +2: the NUL and a 1-byte read
                                                              that sees the end */
    if (rc < 0)
        goto done;
    rc = parse_header(r);
    if (rc < 0)
        goto done;
    if (!stream) { /* whole file: read the rest now */
        ssize_t k;
        while ((k = fill(r)) > 0)
            ;
        if (k < 0) {
            rc = (int)k;
            goto done;
        }
        tg_own_close(&r->fd);
        r->data_lines = count_lines(r->buf, r->pos, r->len);
    }
done:
    return opened(out, r, rc);
}

int feed_tgrec_open(feed_tgrec_t **out, const char *path)
{
    return open_common(out, path, 0, 0);
}

int feed_tgrec_open_stream(feed_tgrec_t **out, const char *path, size_t window)
{
    return open_common(out, path, 1, window);
}

int feed_tgrec_open_mem(feed_tgrec_t **out, const char *text, size_t len)
{
    feed_tgrec_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fd = -1;
    r->eof = 1;
    int rc = grow(r, len + 1);
    if (rc < 0)
        goto done;
    memcpy(r->buf, text, len);
    r->len = len;
    rc = parse_header(r);
    if (rc < 0)
        goto done;
    r->data_lines = count_lines(r->buf, r->pos, r->len);
done:
    return opened(out, r, rc);
}

void feed_tgrec_close(feed_tgrec_t **pr)
{
    feed_tgrec_t *r = tg_own_take(pr);
    if (!r)
        return;
    zt_stop(r);
    ZSTD_freeDStream(r->zs);
    tg_own_close(&r->fd);
    free(r->zin);
    free(r->buf);
    free(r->hdr);
    free(r);
}

int feed_tgrec_rewind(feed_tgrec_t *r)
{
    r->line_no = 0;
    if (!r->stream) {
        /* next() replaced each line end it passed by a NUL: put them back, or the next pass
           would see one long line */
        size_t end = r->pos < r->len ? r->pos : r->len;
        for (char *p = r->buf + r->data_off, *e = r->buf + end;
             p < e && (p = memchr(p, 0, (size_t)(e - p))) != NULL; p++)
            *p = '\n';
        r->pos = r->data_off;
        return 0;
    }
    /* stream: read the file again and skip the header's bytes */
    int had_zt = r->zt != NULL;
    zt_stop(r);
    if (lseek(r->fd, 0, SEEK_SET) < 0)
        return r->err = -errno;
    if (r->zs) {
        ZSTD_DCtx_reset(r->zs, ZSTD_reset_session_only);
        r->zin_len = r->zin_pos = 0;
        r->zin_eof = 0;
        r->zlast = 0;
        if (had_zt) {
            int rc = zt_start(r);
            if (rc < 0)
                return r->err = rc;
        }
    }
    r->len = r->pos = 0;
    r->base = 0;
    r->eof = 0;
    r->err = 0;
    r->data_lines = 0;
    r->file_bytes = 0;
    while (r->base + r->len < r->data_off) {
        r->pos = r->len;
        ssize_t k = fill(r);
        if (k <= 0)
            return r->err = k < 0 ? (int)k : TG_EPROTO;
    }
    r->pos = (size_t)(r->data_off - r->base);
    return 0;
}

uint64_t feed_tgrec_text_offset(const feed_tgrec_t *r)
{
    return r->base + r->pos;
}

int feed_tgrec_next(feed_tgrec_t *r, int64_t *ts_ns, const char **frame, size_t *len)
{
    for (;;) {
        char *line = r->buf + r->pos;
        char *nl = r->pos < r->len ? memchr(line, '\n', r->len - r->pos) : NULL;
        if (!nl && !r->eof) {
            if (r->err)
                return 0; /* reported once already */
            ssize_t k = fill(r);
            if (k < 0) {
                r->eof = 1;
                r->pos = r->len; /* a line cut by the error is not returned */
                return r->err = (int)k;
            }
            continue; /* fill() may have moved the text */
        }
        if (r->pos >= r->len)
            return 0;
        size_t n = nl ? (size_t)(nl - line) : r->len - r->pos;
        r->pos += n + (nl ? 1 : 0);
        r->line_no++;
        if (r->stream && n > 0)
            r->data_lines++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        line[n] = 0;
        if (n == 0)
            continue;
        int64_t ts = 0;
        size_t i = 0;
        if (n > 16) { /* receive times have 19 digits: the first 16 in two words */
            uint64_t w0, w1;
            memcpy(&w0, line, 8);
            memcpy(&w1, line + 8, 8);
            if (!feed_digits_nondigit8(w0) && !feed_digits_nondigit8(w1)) {
                ts = (int64_t)(feed_digits_eight(w0) * 100000000u + feed_digits_eight(w1));
                i = 16;
            }
        }
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
