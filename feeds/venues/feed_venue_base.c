/* SPDX-License-Identifier: MIT */
/*
 * Connection callbacks a family of venue handlers shares (feed_venue_base.h).
 */
#include "feed_venue_base.h"

#include <stdio.h>
#include <string.h>

static const feed_rsv_t *rsv_of(const feed_handler_t *h)
{
    return h->venue->family;
}

static feed_rsync_t *rsv_rs(const feed_handler_t *h)
{
    return (feed_rsync_t *)((char *)h->vstate + rsv_of(h)->rs - 1);
}

/* Send the subscribe messages not sent yet, as many as the venue's send limit allows. */
static int rsv_send_subs(feed_handler_t *h)
{
    const feed_rsv_t *f = rsv_of(h);
    char msg[FEED_RSV_SUB_MAX];
    return feed_send_paced(h, &rsv_rs(h)->sub_next, f->sub_msg, msg, f->sub_cap);
}

int feed_rsv_on_open(feed_handler_t *h)
{
    const feed_rsv_t *f = rsv_of(h);
    feed_rsync_open(h, rsv_rs(h), f->path);
    if (f->opened)
        f->opened(h);
    return rsv_send_subs(h);
}

void feed_rsv_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_rsync_close(h, rsv_rs(h), ts_recv, ts_mono);
}

void feed_rsv_on_tick(feed_handler_t *h, int64_t now_mono)
{
    feed_rsync_t *rs = rsv_rs(h);
    rsv_send_subs(h);
    char msg[96];
    int m = rsv_of(h)->ping(h, now_mono - rs->last_ping, msg, sizeof(msg));
    if (m > 0 && feed_send(h, msg, (size_t)m) == 0)
        rs->last_ping = now_mono;
    feed_rsync_tick(h, rs, now_mono);
}

int feed_rsv_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                     int64_t ts_recv, int64_t ts_mono)
{
    return feed_rsync_rest(h, rsv_rs(h), tag, status, body, len, ts_recv, ts_mono, rsv_of(h)->snap);
}

int feed_sub_list(feed_handler_t *h, char *msg, size_t cap, int m, uint32_t from, uint32_t per,
                  uint32_t n, bool (*ok)(const char *s), const char *q, size_t room,
                  const char *tail)
{
    uint32_t any = 0;
    for (uint32_t i = from; i < n && i < from + per; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || !ok(in->symbol) || (size_t)m + strlen(in->symbol) + room > cap)
            continue;
        m += snprintf(msg + m, cap - (size_t)m, "%s%s%s%s", any++ ? "," : "", q, in->symbol, q);
    }
    m += snprintf(msg + m, cap - (size_t)m, "%s", tail);
    return any ? m : 0;
}
