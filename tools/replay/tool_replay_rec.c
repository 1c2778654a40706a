/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay: loading a tgrec v1 recording for serving. The reader (feeds/feed_tgrec.h)
 * keeps the whole file in memory; this module builds an index of its websocket frames (views,
 * no copy) and of the in-band REST book snapshots ("generated" records), which are not
 * websocket frames and are served over HTTP instead. Also: --fault spec parsing, the byte
 * corruption used by corrupt@N, and the loose JSON comparison used for subscribe messages.
 * Thread: main.
 */
#include "tool_replay.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"

void tool_replay_rec_name(char *dst, size_t cap, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    static const char *const sfx[] = {".tgrec.zst", ".tgrec", ".zst"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        size_t s = strlen(sfx[i]);
        if (n > s && strcmp(b + n - s, sfx[i]) == 0) {
            n -= s;
            break;
        }
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, b, n);
    dst[n] = 0;
}

/* {"stream":"<name>@depthSnapshot","generated":true,"data":<body>} -> snapshot entry. */
static int parse_snapshot(tool_replay_snap_t *s, const char *f, size_t len)
{
    static const char pre[] = "{\"stream\":\"";
    static const char mid[] = "\",\"generated\":true,\"data\":";
    static const char tag[] = "@depthSnapshot";
    if (len < sizeof(pre) || memcmp(f, pre, sizeof(pre) - 1) != 0 || f[len - 1] != '}')
        return TG_EPROTO;
    const char *name = f + sizeof(pre) - 1;
    const char *m = memmem(name, len - (size_t)(name - f), mid, sizeof(mid) - 1);
    if (!m)
        return TG_EPROTO;
    size_t nlen = (size_t)(m - name);
    if (nlen <= sizeof(tag) - 1 || memcmp(m - (sizeof(tag) - 1), tag, sizeof(tag) - 1) != 0)
        return TG_EPROTO;
    nlen -= sizeof(tag) - 1;
    if (nlen == 0 || nlen >= sizeof(s->key))
        return TG_EPROTO;
    for (size_t i = 0; i < nlen; i++)
        s->key[i] = (char)tolower((unsigned char)name[i]);
    s->key[nlen] = 0;
    s->body = m + sizeof(mid) - 1;
    s->len = (size_t)(f + len - 1 - s->body);
    return 0;
}

int tool_replay_rec_load(tool_replay_rec_t *rec, const char *path)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->path, sizeof(rec->path), "%s", path);
    tool_replay_rec_name(rec->name, sizeof(rec->name), path);
    int rc = feed_tgrec_open(&rec->r, path);
    if (rc < 0)
        return rc;
    size_t cap = rec->r->data_lines ? rec->r->data_lines : 1;
    rec->frames = calloc(cap, sizeof(*rec->frames));
    if (!rec->frames) {
        rc = -ENOMEM;
        goto fail;
    }
    int64_t ts;
    const char *f;
    size_t len;
    while ((rc = feed_tgrec_next(rec->r, &ts, &f, &len)) != 0) {
        if (rc < 0) {
            rec->bad_lines++;
            continue;
        }
        if (feed_tgrec_is_generated(f, len)) {
            tool_replay_snap_t s;
            if (parse_snapshot(&s, f, len) < 0)
                continue; /* generated but not a snapshot: nothing to serve */
            tool_replay_snap_t *ns = realloc(rec->snaps, (rec->n_snaps + 1) * sizeof(*ns));
            if (!ns) {
                rc = -ENOMEM;
                goto fail;
            }
            rec->snaps = ns;
            rec->snaps[rec->n_snaps++] = s;
            continue;
        }
        if (rec->n_frames == cap) { /* data_lines counts every line, so this cannot happen */
            rc = TG_EPROTO;
            goto fail;
        }
        rec->frames[rec->n_frames++] = (tool_replay_frame_t){ts, f, len};
    }
    rc = tool_replay_trades_index(rec);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    tool_replay_rec_free(rec);
    return rc;
}

void tool_replay_rec_free(tool_replay_rec_t *rec)
{
    free(rec->frames);
    free(rec->snaps);
    free(rec->trades);
    free(rec->trade_text);
    rec->trades = NULL;
    rec->trade_text = NULL;
    rec->n_trades = rec->trade_text_len = 0;
    feed_tgrec_close(&rec->r);
    rec->frames = NULL;
    rec->snaps = NULL;
    rec->n_frames = rec->n_snaps = 0;
}

const tool_replay_snap_t *tool_replay_rec_snapshot(const tool_replay_rec_t *rec, const char *key)
{
    for (size_t i = 0; i < rec->n_snaps; i++)
        if (strcasecmp(rec->snaps[i].key, key) == 0)
            return &rec->snaps[i];
    return NULL;
}

static size_t skip_blank(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

bool tool_replay_json_loose_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    for (;;) {
        i = skip_blank(a, i, alen);
        j = skip_blank(b, j, blen);
        if (i == alen || j == blen)
            return i == alen && j == blen;
        if (a[i++] != b[j++])
            return false;
    }
}

static int parse_u64(const char *s, char **end, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, end, 10);
    if (errno)
        return -EINVAL;
    *out = v;
    return 0;
}

int tool_replay_fault_parse(tool_replay_fault_t *f, const char *spec)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->spec, sizeof(f->spec), "%s", spec);
    char *e;
    uint64_t v;
    const char *p;
    if (strncmp(spec, "drop-after=", 11) == 0) {
        f->kind = TOOL_REPLAY_FAULT_DROP;
        p = spec + 11;
    } else if (strncmp(spec, "stall=", 6) == 0) {
        f->kind = TOOL_REPLAY_FAULT_STALL;
        if (parse_u64(spec + 6, &e, &v) < 0 || *e != '@' || v > 3600000)
            return -EINVAL;
        f->ms = (uint32_t)v;
        p = e + 1;
    } else if (strncmp(spec, "corrupt@", 8) == 0) {
        f->kind = TOOL_REPLAY_FAULT_CORRUPT;
        p = spec + 8;
    } else if (strncmp(spec, "truncate@", 9) == 0) {
        f->kind = TOOL_REPLAY_FAULT_TRUNCATE;
        p = spec + 9;
    } else if (strncmp(spec, "oversize@", 9) == 0) {
        f->kind = TOOL_REPLAY_FAULT_OVERSIZE;
        p = spec + 9;
    } else {
        return -EINVAL;
    }
    if (parse_u64(p, &e, &f->at) < 0)
        return -EINVAL;
    /* drop-after=0 closes before the first frame; the others count frames from 1 */
    if (f->kind != TOOL_REPLAY_FAULT_DROP && f->at == 0)
        return -EINVAL;
    if (*e == ',') {
        if (strncmp(e, ",times=", 7) != 0 || parse_u64(e + 7, &e, &v) < 0 || v == 0 ||
            v > UINT32_MAX)
            return -EINVAL;
        f->times = (uint32_t)v;
    }
    return *e ? -EINVAL : 0;
}

void tool_replay_corrupt(char *buf, size_t len)
{
    if (len == 0)
        return;
    size_t n = len < TOOL_REPLAY_CORRUPT_BYTES ? len : TOOL_REPLAY_CORRUPT_BYTES;
    size_t step = len / n;
    for (size_t i = 0; i < n; i++)
        buf[i * step] ^= 0x01;
}
