/* SPDX-License-Identifier: MIT */
/*
 * Spill journal (store_spill.h): bounded append-only segment files of crc32c-checked records
 * with a durable read cursor.
 *
 * DESIGN
 * One owner thread does everything (append, peek, advance); only the counters are shared.
 * Segments are numbered upwards; `segs[]` lists the ones on disk, oldest first. The last one
 * is the write segment (wfd, woff = its size). The cursor (rseg, roff) points into the oldest
 * segment; it only moves forward, in advance() or past a damaged region in peek(). When the
 * cursor reaches the end of a segment that is not the write segment, that segment is unlinked.
 * When everything is consumed, the write segment is unlinked too, so a caught-up journal
 * holds no data on disk. Invariant: pending_bytes == sum of the sizes of the segments in
 * segs[] (consumed head bytes included: space is reclaimed a segment at a time).
 */
#include "storage/pg/store_spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "book/tg_grow.h"
#include "book/tg_own.h"

#define SPILL_MAGIC 0x314a4754u /* "TGJ1" little-endian */
#define SPILL_HDR   20

struct store_spill {
    store_spill_cfg_t cfg;
    char dir[PATH_MAX - 32];
    int dirfd, headfd;
    uint64_t *segs;
    size_t nseg, capseg;
    int wfd;       /* write segment fd, -1 if none open */
    uint64_t woff; /* size of the write segment */
    int rfd;       /* fd of segs[0] for reading, -1 if not open */
    uint64_t rsize, roff;
    uint64_t next_recno;
    uint64_t pending;
    uint8_t *rbuf;
    size_t rcap;
    uint64_t peek_len; /* whole record length of the last peek, 0 if none */
    store_spill_stats_t st;
};

/* ---- crc32c, slicing by 8 ---- */

static uint32_t crc_tab[8][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

#include <pthread.h>
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

uint32_t store_spill_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = buf;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^ crc_tab[5][(w >> 16) & 0xff] ^
              crc_tab[4][(w >> 24) & 0xff] ^ crc_tab[3][(w >> 32) & 0xff] ^
              crc_tab[2][(w >> 40) & 0xff] ^ crc_tab[1][(w >> 48) & 0xff] ^
              crc_tab[0][(w >> 56) & 0xff];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* ---- helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* little-endian host (x86-64, arm64 Linux) */
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void seg_name(char *buf, size_t n, uint64_t seg)
{
    snprintf(buf, n, "seg-%016llx.tgj", (unsigned long long)seg);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int rbuf_reserve(store_spill_t *s, size_t n)
{
    return tg_grow(&s->rbuf, &s->rcap, n, 1, 65536);
}

/*
 * Check the record at `off` of fd (file size `size`). Returns its whole length (> 0) when
 * valid, 0 when invalid, negative errno on I/O failure. On success the payload is in s->rbuf.
 */
static int64_t rec_check(store_spill_t *s, int fd, uint64_t size, uint64_t off, uint64_t *recno)
{
    uint8_t h[SPILL_HDR];
    if (size - off < SPILL_HDR)
        return 0;
    int rc = pread_full(fd, h, SPILL_HDR, off);
    if (rc < 0)
        return rc;
    uint32_t len = get32(h + 4);
    if (get32(h) != SPILL_MAGIC || len > size - off - SPILL_HDR || len > s->cfg.segment_bytes)
        return 0;
    if ((rc = rbuf_reserve(s, len ? len : 1)) < 0)
        return rc;
    if ((rc = pread_full(fd, s->rbuf, len, off + SPILL_HDR)) < 0)
        return rc;
    uint32_t crc = store_spill_crc32c(0, h + 4, 12);
    crc = store_spill_crc32c(crc, s->rbuf, len);
    if (crc != get32(h + 16))
        return 0;
    if (recno)
        *recno = get64(h + 8);
    return (int64_t)SPILL_HDR + len;
}

/* Next offset >= from holding a valid record, or size if none. */
static int64_t resync(store_spill_t *s, int fd, uint64_t size, uint64_t from)
{
    uint8_t buf[4096];
    for (uint64_t off = from; off + SPILL_HDR <= size;) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        int rc = pread_full(fd, buf, n, off);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i + 4 <= n; i++) {
            if (get32(buf + i) != SPILL_MAGIC)
                continue;
            int64_t r = rec_check(s, fd, size, off + i, NULL);
            if (r < 0)
                return r;
            if (r > 0)
                return (int64_t)(off + i);
        }
        off += n > 3 ? n - 3 : n;
    }
    return (int64_t)size;
}

static int head_write(store_spill_t *s, uint64_t seg, uint64_t off)
{
    uint8_t h[20];
    put64(h, seg);
    put64(h + 8, off);
    put32(h + 16, store_spill_crc32c(0, h, 16));
    if (pwrite(s->headfd, h, sizeof h, 0) != (ssize_t)sizeof h)
        return errno ? -errno : -EIO;
    if (s->cfg.fsync && fdatasync(s->headfd) < 0)
        return -errno;
    return 0;
}

static int open_seg(store_spill_t *s, uint64_t seg, int flags)
{
    char name[64];
    seg_name(name, sizeof name, seg);
    int fd = openat(s->dirfd, name, flags | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static uint64_t seg_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void drop_head_seg(store_spill_t *s)
{
    char name[64];
    uint64_t sz = (s->nseg == 1 && s->wfd >= 0) ? s->woff : s->rsize;
    tg_own_close(&s->rfd);
    if (s->nseg == 1 && s->wfd >= 0) {
        close(s->wfd);
        s->wfd = -1;
        s->woff = 0;
    }
    seg_name(name, sizeof name, s->segs[0]);
    unlinkat(s->dirfd, name, 0);
    uint64_t pb = TG_STAT_GET(s->st.pending_bytes);
    TG_STAT_SET(s->st.pending_bytes, pb > sz ? pb - sz : 0);
    uint64_t next = s->segs[0] + 1;
    memmove(s->segs, s->segs + 1, (s->nseg - 1) * sizeof *s->segs);
    s->nseg--;
    s->roff = 0;
    s->rsize = 0;
    head_write(s, s->nseg ? s->segs[0] : next, 0);
}

/* Open segs[0] for reading if needed. */
static int open_read(store_spill_t *s)
{
    if (s->rfd >= 0 || !s->nseg)
        return 0;
    int fd = open_seg(s, s->segs[0], O_RDONLY);
    if (fd < 0)
        return fd;
    s->rfd = fd;
    s->rsize = seg_size(fd);
    return 0;
}

static uint64_t read_limit(store_spill_t *s)
{
    return (s->nseg == 1 && s->wfd >= 0) ? s->woff : s->rsize;
}

void store_spill_cfg_defaults(store_spill_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->max_bytes = 1ull << 30;
    c->segment_bytes = 64ull << 20;
    c->fsync = 1;
}

static int scan_segments(store_spill_t *s)
{
    DIR *d = fdopendir(dup(s->dirfd));
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long n;
        char tail[8];
        if (sscanf(e->d_name, "seg-%16llx.%3s", &n, tail) != 2 || strcmp(tail, "tgj") != 0)
            continue;
        if (tg_grow(&s->segs, &s->capseg, s->nseg + 1, sizeof(*s->segs), 16) < 0) {
            closedir(d);
            return -ENOMEM;
        }
        s->segs[s->nseg++] = n;
    }
    closedir(d);
    if (s->nseg > 1)
        qsort(s->segs, s->nseg, sizeof *s->segs, cmp_u64);
    return 0;
}

/* Count records from the cursor on; cut a torn tail off the last segment. */
static int scan_records(store_spill_t *s)
{
    uint64_t total = 0, pending = 0, last_recno = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        int fd = open_seg(s, s->segs[i], i + 1 == s->nseg ? O_RDWR : O_RDONLY);
        if (fd < 0)
            return fd;
        uint64_t size = seg_size(fd), off = (i == 0) ? s->roff : 0;
        if (off > size)
            off = s->roff = 0;
        while (off < size) {
            uint64_t recno;
            int64_t r = rec_check(s, fd, size, off, &recno);
            if (r < 0) {
                close(fd);
                return (int)r;
            }
            if (r > 0) {
                pending++;
                last_recno = recno;
                off += (uint64_t)r;
                continue;
            }
            int64_t nx = resync(s, fd, size, off + 1);
            if (nx < 0) {
                close(fd);
                return (int)nx;
            }
            if ((uint64_t)nx == size && i + 1 == s->nseg) { /* torn tail: cut it */
                if (ftruncate(fd, (off_t)off) < 0) {
                    int e = -errno;
                    close(fd);
                    return e;
                }
                TG_STAT_ADD(s->st.torn_tail_bytes, size - off);
                TG_STAT_INC(s->st.torn_tails);
                size = off;
                break;
            }
            off = (uint64_t)nx; /* damage in the middle: peek() reports it later */
        }
        total += size;
        if (i + 1 == s->nseg) {
            s->wfd = fd;
            s->woff = size;
            if (s->cfg.fsync)
                fdatasync(fd);
        } else {
            close(fd);
        }
    }
    s->pending = pending;
    s->next_recno = last_recno + 1;
    TG_STAT_SET(s->st.pending_records, pending);
    TG_STAT_SET(s->st.pending_bytes, total);
    return 0;
}

int store_spill_open(store_spill_t **out, const store_spill_cfg_t *cfg, char *err, size_t errlen)
{
    if (!out || !cfg || !cfg->dir || !cfg->dir[0])
        return -EINVAL;
    store_spill_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int rc;
    const char *what = "open";
    s->cfg = *cfg;
    if (!s->cfg.max_bytes)
        s->cfg.max_bytes = 1ull << 30;
    if (!s->cfg.segment_bytes)
        s->cfg.segment_bytes = 64ull << 20;
    s->dirfd = s->headfd = s->wfd = s->rfd = -1;
    s->cfg.dir = s->dir;
    snprintf(s->dir, sizeof s->dir, "%s", cfg->dir);
    if (mkdir(s->dir, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        what = "mkdir";
        goto fail;
    }
    if ((s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((s->headfd = openat(s->dirfd, "head", O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        rc = -errno;
        what = "open head";
        goto fail;
    }
    if ((rc = scan_segments(s)) < 0) {
        what = "readdir";
        goto fail;
    }
    uint8_t h[20];
    uint64_t hseg = 0, hoff = 0;
    if (pread(s->headfd, h, sizeof h, 0) == (ssize_t)sizeof h &&
        store_spill_crc32c(0, h, 16) == get32(h + 16)) {
        hseg = get64(h);
        hoff = get64(h + 8);
    }
    /* Segments before the cursor were consumed (crash before unlink): remove them. */
    while (s->nseg && s->segs[0] < hseg) {
        char name[64];
        seg_name(name, sizeof name, s->segs[0]);
        unlinkat(s->dirfd, name, 0);
        memmove(s->segs, s->segs + 1, (s->nseg - 1) * sizeof *s->segs);
        s->nseg--;
    }
    s->roff = (s->nseg && s->segs[0] == hseg) ? hoff : 0;
    if ((rc = scan_records(s)) < 0) {
        what = "scan";
        goto fail;
    }
    if (!s->nseg)
        s->next_recno = 1;
    *out = s;
    return 0;
fail:
    if (err && errlen)
        snprintf(err, errlen, "spill journal %s %s: %s", what, s->dir, tg_strerror(rc));
    store_spill_close(&s);
    return rc;
}

void store_spill_close(store_spill_t **sp)
{
    store_spill_t *s = tg_own_take(sp);
    if (!s)
        return;
    if (s->wfd >= 0) {
        if (s->cfg.fsync)
            fdatasync(s->wfd);
        close(s->wfd);
    }
    tg_own_close(&s->rfd);
    tg_own_close(&s->headfd);
    tg_own_close(&s->dirfd);
    free(s->segs);
    free(s->rbuf);
    free(s);
}

static int new_segment(store_spill_t *s)
{
    uint64_t seg = s->nseg ? s->segs[s->nseg - 1] + 1 : 1;
    if (!s->nseg) { /* continue numbering after the cursor's segment */
        uint8_t h[20];
        if (pread(s->headfd, h, sizeof h, 0) == (ssize_t)sizeof h &&
            store_spill_crc32c(0, h, 16) == get32(h + 16) && get64(h) > seg)
            seg = get64(h);
    }
    if (tg_grow(&s->segs, &s->capseg, s->nseg + 1, sizeof(*s->segs), 16) < 0)
        return -ENOMEM;
    int fd = open_seg(s, seg, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0)
        return fd;
    if (s->cfg.fsync && fsync(s->dirfd) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    /* The reader was on the write segment: its limit was woff (read_limit()); from now on it
     * is rsize, so make rsize the segment's final size, or the records appended after the
     * reader opened it would be cut off with the segment. */
    if (s->nseg == 1 && s->rfd >= 0)
        s->rsize = s->woff;
    if (s->wfd >= 0)
        close(s->wfd);
    s->wfd = fd;
    s->woff = 0;
    s->segs[s->nseg++] = seg;
    if (s->nseg == 1) {
        s->roff = 0;
        head_write(s, seg, 0);
    }
    return 0;
}

int store_spill_append(store_spill_t *s, const struct iovec *iov, int n)
{
    if (!s || n < 0 || n > 15)
        return -EINVAL;
    uint64_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    uint64_t rec = SPILL_HDR + len;
    if (len > UINT32_MAX || rec > s->cfg.segment_bytes)
        return -EMSGSIZE;
    if (TG_STAT_GET(s->st.pending_bytes) + rec > s->cfg.max_bytes) {
        TG_STAT_INC(s->st.full);
        return -ENOSPC;
    }
    int rc;
    if (s->wfd < 0 || (s->woff > 0 && s->woff + rec > s->cfg.segment_bytes))
        if ((rc = new_segment(s)) < 0)
            return rc;
    uint8_t h[SPILL_HDR];
    put32(h, SPILL_MAGIC);
    put32(h + 4, (uint32_t)len);
    put64(h + 8, s->next_recno);
    uint32_t crc = store_spill_crc32c(0, h + 4, 12);
    for (int i = 0; i < n; i++)
        crc = store_spill_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
    put32(h + 16, crc);

    struct iovec v[16];
    v[0].iov_base = h;
    v[0].iov_len = SPILL_HDR;
    memcpy(v + 1, iov, (size_t)n * sizeof *iov);
    int nv = n + 1, k = 0;
    uint64_t off = s->woff;
    while (k < nv) {
        ssize_t w = pwritev(s->wfd, v + k, nv - k, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto undo;
        }
        off += (uint64_t)w;
        while (k < nv && (size_t)w >= v[k].iov_len) {
            w -= (ssize_t)v[k].iov_len;
            k++;
        }
        if (k < nv) {
            v[k].iov_base = (uint8_t *)v[k].iov_base + w;
            v[k].iov_len -= (size_t)w;
        }
    }
    if (s->cfg.fsync && fdatasync(s->wfd) < 0) {
        rc = -errno;
        goto undo;
    }
    s->woff = off;
    s->next_recno++;
    s->pending++;
    TG_STAT_INC(s->st.appended_records);
    TG_STAT_ADD(s->st.appended_bytes, rec);
    TG_STAT_SET(s->st.pending_records, s->pending);
    TG_STAT_ADD(s->st.pending_bytes, rec);
    return 0;
undo:
    if (ftruncate(s->wfd, (off_t)s->woff) < 0) {
        /* nothing more to do: open() cuts a torn tail */
    }
    return rc;
}

int store_spill_peek(store_spill_t *s, const uint8_t **data, size_t *len)
{
    if (!s || !data || !len)
        return -EINVAL;
    s->peek_len = 0;
    for (;;) {
        if (!s->nseg)
            return -ENOENT;
        int rc = open_read(s);
        if (rc < 0)
            return rc;
        uint64_t lim = read_limit(s);
        if (s->roff >= lim) {
            if (s->nseg == 1) { /* caught up */
                if (s->woff > 0 && s->pending == 0)
                    drop_head_seg(s);
                return -ENOENT;
            }
            drop_head_seg(s);
            continue;
        }
        int64_t r = rec_check(s, s->rfd, lim, s->roff, NULL);
        if (r < 0)
            return (int)r;
        if (r > 0) {
            *data = s->rbuf;
            *len = (size_t)r - SPILL_HDR;
            s->peek_len = (uint64_t)r;
            return 0;
        }
        int64_t nx = resync(s, s->rfd, lim, s->roff + 1);
        if (nx < 0)
            return (int)nx;
        TG_STAT_INC(s->st.corrupt);
        TG_STAT_ADD(s->st.corrupt_bytes, (uint64_t)nx - s->roff);
        s->roff = (uint64_t)nx;
        return TG_ESPILL;
    }
}

int store_spill_advance(store_spill_t *s)
{
    if (!s || !s->peek_len)
        return -EINVAL;
    s->roff += s->peek_len;
    s->peek_len = 0;
    if (s->pending)
        s->pending--;
    TG_STAT_INC(s->st.consumed_records);
    TG_STAT_SET(s->st.pending_records, s->pending);
    if (s->roff >= read_limit(s) && (s->nseg > 1 || s->pending == 0)) {
        drop_head_seg(s); /* writes the cursor */
        return 0;
    }
    return head_write(s, s->segs[0], s->roff);
}

uint64_t store_spill_pending(const store_spill_t *s)
{
    return s ? s->pending : 0;
}

const store_spill_stats_t *store_spill_stats(const store_spill_t *s)
{
    return &s->st;
}
