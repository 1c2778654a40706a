/* SPDX-License-Identifier: MIT */
/* Producer-side overflow of a feed connection's ring: see feed_ovf.h. */
#include "feeds/net/feed_ovf.h"

#include <string.h>
#include <sys/mman.h>

static feed_ovf_stats_t g_nostats; /* stats of an overflow set up without any (written only
                                      through TG_STAT_* by its producer) */

void feed_ovf_init(feed_ovf_t *o, uint32_t max, feed_ovf_stats_t *st)
{
    memset(o, 0, sizeof(*o));
    o->max = max;
    o->st = st ? st : &g_nostats;
}

static void publish(feed_ovf_t *o)
{
    if (!o->st) /* zeroed, never set up */
        return;
    TG_STAT_SET(o->st->events, o->n);
    TG_STAT_SET(o->st->bytes, (uint64_t)o->cap * sizeof(tg_event_t));
}

/* Room for at least one more event: map the first block or double (at most max). The FIFO
 * stays valid: the part from head to the old end moves to the new end. */
static bool grow(feed_ovf_t *o)
{
    if (o->cap >= o->max)
        return false;
    uint32_t nc = o->cap ? (o->cap > o->max / 2 ? o->max : o->cap * 2)
                         : (o->max < FEED_OVF_FIRST ? o->max : FEED_OVF_FIRST);
    size_t ob = (size_t)o->cap * sizeof(tg_event_t), nb = (size_t)nc * sizeof(tg_event_t);
    void *p = o->buf ? mremap(o->buf, ob, nb, MREMAP_MAYMOVE)
                     : mmap(NULL, nb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    if (!o->buf) {
        TG_STAT_INC(o->st->episodes);
        o->peak = 0;
    }
    o->buf = p;
    if (o->n && o->head + o->n > o->cap) { /* wrapped: move [head, cap) to the new end */
        uint32_t tail_part = o->cap - o->head;
        memmove(o->buf + nc - tail_part, o->buf + o->head, (size_t)tail_part * sizeof(tg_event_t));
        o->head = nc - tail_part;
    }
    o->cap = nc;
    return true;
}

uint32_t feed_ovf_drain(feed_ovf_t *o, tg_ring_t *r)
{
    uint32_t before = o->n;
    while (o->n) {
        uint32_t seg = o->cap - o->head < o->n ? o->cap - o->head : o->n;
        uint32_t k = tg_ring_spsc_push_n(r, o->buf + o->head, seg);
        o->n -= k;
        o->head += k;
        if (o->head == o->cap || o->n == 0)
            o->head = 0; /* empty: start over at 0, so only the pages a burst needs are touched */
        if (k < seg)
            break;
    }
    if (o->n != before)
        publish(o);
    return o->n;
}

uint32_t feed_ovf_push(feed_ovf_t *o, tg_ring_t *r, const tg_event_t *ev, uint32_t n)
{
    uint32_t done = 0;
    if (!o->n || !feed_ovf_drain(o, r))
        done = tg_ring_spsc_push_n(r, ev, n);
    if (done == n)
        return n;
    uint32_t first = done;
    while (done < n) {
        if (o->n == o->cap && !grow(o))
            break;
        uint32_t tail = o->head + o->n;
        if (tail >= o->cap)
            tail -= o->cap;
        uint32_t room = tail >= o->head ? o->cap - tail : o->head - tail; /* contiguous */
        uint32_t k = n - done < room ? n - done : room;
        memcpy(o->buf + tail, ev + done, (size_t)k * sizeof(tg_event_t));
        o->n += k;
        done += k;
    }
    if (o->n > o->peak)
        o->peak = o->n;
    o->empty_ns = 0;
    if (done != first)
        publish(o);
    return done;
}

uint32_t feed_ovf_discard(feed_ovf_t *o)
{
    uint32_t n = o->n;
    o->n = 0;
    o->head = 0;
    publish(o);
    return n;
}

void feed_ovf_free(feed_ovf_t *o)
{
    if (o->buf)
        munmap(o->buf, (size_t)o->cap * sizeof(tg_event_t));
    o->buf = NULL;
    o->cap = o->n = o->head = 0;
    o->empty_ns = 0;
    publish(o);
}

bool feed_ovf_idle(feed_ovf_t *o, int64_t now_ns, int64_t linger_ns, uint32_t *peak)
{
    if (!o->buf || o->n)
        return false;
    if (!o->empty_ns)
        o->empty_ns = now_ns;
    if (now_ns - o->empty_ns < linger_ns)
        return false;
    if (peak)
        *peak = o->peak;
    feed_ovf_free(o);
    return true;
}
