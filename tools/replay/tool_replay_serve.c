/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve: one libwebsockets server on 127.0.0.1 that plays tgrec recordings back
 * to websocket clients, and answers the venue REST book-snapshot requests over HTTP(S) on the
 * same port from the snapshots recorded in-band (tool_replay_http.c).
 *
 * DESIGN
 * - One thread, one lws context, one vhost, one protocol (protocols[0] also takes plain HTTP).
 * - Each websocket connection has its own position in its recording (sess_t): several clients
 *   at once each get the full recording from the start. If the recording has "# sent:" lines,
 *   the connection first waits for that many text messages from the client (subscribe
 *   gating), then streams. After the client's first message, --sub-settle ms (300) without
 *   another also start the stream (clients batch subscribes differently from the recorder);
 *   a client that sends nothing within --sub-timeout (5 s) is closed with 1008.
 * - Writes: exactly one lws_write per WRITEABLE callback; the frame is copied into a shared
 *   buffer with LWS_PRE headroom (lws keeps its own copy of a partial send, so the buffer is
 *   free again when lws_write returns). --max asks for the next WRITEABLE at once, so the pace
 *   is the client's read pace and at most one frame is queued in lws per connection. Paced
 *   mode (--speed X) sends frame i at pass_start + (ts_i - ts_0) / X using the wsi timer.
 *   --rate N sends frame i of a pass at pass_start + i / N (a fixed message rate per connection).
 *   Paced waits are whole milliseconds (pace_wait_us): frames due within one go in a burst.
 * - Venues whose frames are gzip on the wire (feed_venue_t.wire & FEED_WIRE_GZIP: HTX) get
 *   each recorded text as a BINARY frame holding its gzip stream, as the venue sends it
 *   (recordings keep the decoded text). One deflate state, reset per frame; faults corrupt or
 *   truncate the compressed bytes.
 * - Faults (--fault) count frames per connection from 1. A drop or the end of the recording
 *   is handled at the top of the next WRITEABLE, i.e. after lws flushed what was written; a
 *   drop then waits (up to 500 ms) until the client acknowledged those bytes.
 * - SIGINT/SIGTERM set a flag and cancel the service wait; the loop ends, the context is
 *   destroyed (connections closed) and a summary goes to stderr.
 * Thread: main.
 */
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "book/tg_err.h"
#include "book/tg_grow.h"
#include "feeds/feed.h"
#include "tool_replay.h"
#include "tool_replay_live.h"
#include "tool_replay_serve.h"

#define g                          tool_replay__srv
#define TOOL_REPLAY_PACE_MARGIN_US 100
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g.ctx)
        lws_cancel_service(g.ctx);
}

/* Recording for a request path: /rec/<name>[/...], or the only recording for any path. */
static bool fault_applies(const sess_t *s, const tool_replay_fault_t *f)
{
    return f->times == 0 || s->id <= f->times;
}

static void sess_free(sess_t *s)
{
    free(s->owned);
    s->owned = NULL;
    free(s->rx);
    s->rx = NULL;
    free(s->want);
    free(s->wl);
    free(s->lead);
    s->want = NULL;
    s->wl = NULL;
    s->lead = NULL;
    s->lead_len = s->lead_off = 0;
    s->rx_len = s->rx_cap = 0;
}

static int ensure_buf(size_t len)
{
    if (LWS_PRE + len <= g.buf_cap)
        return 0;
    size_t cap = LWS_PRE + len + 4096;
    unsigned char *nb = realloc(g.buf, cap);
    if (!nb)
        return -ENOMEM;
    g.buf = nb;
    g.buf_cap = cap;
    return 0;
}

/* Does the recording's venue send gzip frames? (cached for the last recording asked) */
static bool rec_gzip(const tool_replay_rec_t *r)
{
    static const tool_replay_rec_t *last;
    static bool gz;
    if (r != last) {
        const feed_venue_t *v = feed_venue_find(r->r->venue);
        last = r;
        gz = v && (v->wire & FEED_WIRE_GZIP);
    }
    return gz;
}

static z_stream gz_strm;
static bool gz_ready;

/* gzip text into g.buf + LWS_PRE. @return the compressed length, or -1. */
static long gzip_frame(const char *text, size_t len)
{
    if (!gz_ready) {
        if (deflateInit2(&gz_strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        gz_ready = true;
    } else if (deflateReset(&gz_strm) != Z_OK) {
        return -1;
    }
    size_t bound = deflateBound(&gz_strm, (uLong)len) + 32;
    if (ensure_buf(bound) < 0)
        return -1;
    gz_strm.next_in = (Bytef *)text;
    gz_strm.avail_in = (uInt)len;
    gz_strm.next_out = g.buf + LWS_PRE;
    gz_strm.avail_out = (uInt)bound;
    if (deflate(&gz_strm, Z_FINISH) != Z_STREAM_END)
        return -1;
    return (long)gz_strm.total_out;
}

static void gzip_done(void)
{
    if (gz_ready)
        deflateEnd(&gz_strm);
    gz_ready = false;
}

size_t tool_replay__resume_pos(tool_replay_rec_t *rec)
{
    if (!g.resume || rec->published == 0)
        return 0; /* the first connection starts at the start */
    size_t left = rec->n_frames - rec->published;
    size_t pos = rec->published + (g.away < left ? (size_t)g.away : left);
    if (g.verbose && pos > rec->published)
        fprintf(stderr, "tickgate-replay: %s: frames %zu..%zu published while away (not sent)\n",
                rec->name, rec->published + 1, pos);
    rec->published = pos;
    return pos;
}

static void start_stream(struct lws *wsi, sess_t *s)
{
    if (g.clones && s->want) { /* the subscribed clones, in order */
        s->wl = malloc(g.clones * sizeof(*s->wl));
        for (unsigned i = 0; s->wl && i < g.clones; i++)
            if (s->want[i])
                s->wl[s->n_wl++] = i;
        if (g.verbose)
            fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": %u clones\n", s->id, s->n_wl);
    }
    s->st = SS_STREAM;
    s->pass_start_us = tool_replay__now_us();
    lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
    lws_callback_on_writable(wsi);
}

/* Abrupt close: FIN without a websocket close frame (TLS: without close_notify). */
static int drop_now(struct lws *wsi, sess_t *s, const tool_replay_fault_t *f)
{
    fprintf(stderr,
            "tickgate-replay: conn %" PRIu64 ": fault %s: dropping TCP after %" PRIu64 " frames\n",
            s->id, f->spec, s->sent);
    g.faults_applied++;
    int fd = lws_get_socket_fd(wsi);
    if (fd >= 0) {
        shutdown(fd, SHUT_WR);
        /* the frames sent before the drop reach the client, as a venue's would: closing with
           unread input resets the connection, which throws away what the kernel has not sent
           yet (a trade lost in flight under load, once, in test_it_backfill). Wait, bounded,
           until the peer has acknowledged every byte. */
        int q = 1;
        for (int i = 0; i < 500 && ioctl(fd, SIOCOUTQ, &q) == 0 && q > 0; i++)
            usleep(1000);
    }
    s->st = SS_DONE;
    return -1;
}

static int write_junk(struct lws *wsi, sess_t *s, const tool_replay_fault_t *f)
{
    if (!g.junk) {
        g.junk = malloc(LWS_PRE + TOOL_REPLAY_OVERSIZE_LEN);
        if (!g.junk)
            return -1;
        for (size_t i = 0; i < TOOL_REPLAY_OVERSIZE_LEN; i++)
            g.junk[LWS_PRE + i] = (unsigned char)('a' + (i * 7919u) % 26u);
    }
    fprintf(stderr,
            "tickgate-replay: conn %" PRIu64 ": fault %s: %zu-byte junk frame before "
            "frame %" PRIu64 "\n",
            s->id, f->spec, TOOL_REPLAY_OVERSIZE_LEN, s->sent + 1);
    g.faults_applied++;
    int n = lws_write(wsi, g.junk + LWS_PRE, TOOL_REPLAY_OVERSIZE_LEN, LWS_WRITE_TEXT);
    if (n < 0)
        return -1;
    g.bytes += TOOL_REPLAY_OVERSIZE_LEN;
    lws_callback_on_writable(wsi);
    return 0;
}

static int end_of_recording(struct lws *wsi, sess_t *s)
{
    s->st = SS_DONE;
    if (g.verbose)
        fprintf(stderr,
                "tickgate-replay: conn %" PRIu64 ": end of recording (%" PRIu64 " frames)\n", s->id,
                s->sent);
    if (g.hold)
        return 0;
    static const char why[] = "end of recording";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)why, sizeof(why) - 1);
    return -1;
}

/*
 * Timer for a frame due in `left` us. lws 4.1 waits in poll() with a timeout truncated to
 * whole milliseconds and then calls poll(0) until the timer is ripe, so a timer spins through
 * its sub-millisecond rest: at --rate 20000 (50 us apart) that was a busy core. Wait whole
 * milliseconds plus a margin for the poll wake-up instead; what is due by then goes back to
 * back. Frames leave up to ~1.1 ms late, in bursts; the average pace stays exact because due
 * times are absolute from the pass start.
 */
static lws_usec_t pace_wait_us(int64_t left)
{
    return (lws_usec_t)((left + 999) / 1000 * 1000 + TOOL_REPLAY_PACE_MARGIN_US);
}

/* The next lead frame (--resume, Coinbase: a last_match per product; OKX: the push of each
 * instrument's newest trade; Kraken Futures: a trade_snapshot per product; Crypto.com: the push
 * of its --trade-snapshot newest) before the
 * recording's: not paced, not counted in the fault numbering. */
static int write_lead(struct lws *wsi, sess_t *s)
{
    const char *f = s->lead + s->lead_off, *nl = memchr(f, '\n', s->lead_len - s->lead_off);
    size_t len = nl ? (size_t)(nl - f) : s->lead_len - s->lead_off;
    if (ensure_buf(len) < 0)
        return -1;
    memcpy(g.buf + LWS_PRE, f, len);
    if (lws_write(wsi, g.buf + LWS_PRE, len, LWS_WRITE_TEXT) < 0)
        return -1;
    s->lead_off += len + 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int ws_writeable(struct lws *wsi, sess_t *s)
{
    if (s->st != SS_STREAM)
        return 0;
    const tool_replay_rec_t *rec = s->rec;
    for (size_t i = 0; i < g.n_faults; i++) {
        const tool_replay_fault_t *f = &g.faults[i];
        if (f->kind == TOOL_REPLAY_FAULT_DROP && f->at == s->sent && fault_applies(s, f))
            return drop_now(wsi, s, f);
    }
    int64_t now = tool_replay__now_us();
    if (now < s->hold_until_us) {
        lws_set_timer_usecs(wsi, s->hold_until_us - now);
        return 0;
    }
    if (s->lead_off < s->lead_len)
        return write_lead(wsi, s);
    if (s->pos == rec->n_frames) {
        s->pass++;
        if (rec->n_frames == 0 || (g.loops != 0 && s->pass >= g.loops))
            return end_of_recording(wsi, s);
        s->pos = s->first = 0;
        s->pass_start_us = now;
    }
    const tool_replay_frame_t *fr = &rec->frames[s->pos];
    if (g.clones && !s->n_wl) { /* subscribed to no clone: nothing to send */
        s->pos = rec->n_frames;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!g.max && s->ci == 0) {
        /* --rate: frame i of a pass at i / rate; else the recorded pace / speed. Due times are
           absolute from the pass start, so a late timer is caught up by sending back to back. */
        double off_us = g.rate > 0
                            ? (double)(s->pos - s->first) * 1e6 / g.rate
                            : (double)(fr->ts_ns - rec->frames[s->first].ts_ns) / 1000.0 / g.speed;
        int64_t due = s->pass_start_us + (int64_t)off_us;
        if (due > now) {
            lws_set_timer_usecs(wsi, pace_wait_us(due - now));
            return 0;
        }
    }
    uint64_t k = s->sent + 1;
    for (size_t i = 0; i < g.n_faults; i++) {
        const tool_replay_fault_t *f = &g.faults[i];
        if (f->kind == TOOL_REPLAY_FAULT_OVERSIZE && f->at == k && fault_applies(s, f) &&
            !(s->oversize_done & (1u << i))) {
            s->oversize_done |= 1u << i;
            return write_junk(wsi, s, f);
        }
    }
    bool gz = rec_gzip(rec);
    const char *data = fr->data;
    size_t len = fr->len;
    if (g.clones)
        len = tool_replay__clone_frame(rec, s->wl[s->ci], fr->data, fr->len, &data);
    char *p;
    if (gz) {
        long zl = gzip_frame(data, len);
        if (zl < 0) {
            fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": gzip failed\n", s->id);
            return -1;
        }
        p = (char *)g.buf + LWS_PRE;
        len = (size_t)zl;
    } else {
        if (ensure_buf(len) < 0)
            return -1;
        p = (char *)g.buf + LWS_PRE;
        memcpy(p, data, len);
    }
    size_t whole = len; /* bytes on the wire before a truncate fault */
    for (size_t i = 0; i < g.n_faults; i++) {
        const tool_replay_fault_t *f = &g.faults[i];
        if (f->at != k || !fault_applies(s, f))
            continue;
        if (f->kind == TOOL_REPLAY_FAULT_CORRUPT) {
            tool_replay_corrupt(p, len);
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": fault %s: corrupted frame %" PRIu64
                    " (%zu bytes)\n",
                    s->id, f->spec, k, len);
            g.faults_applied++;
        } else if (f->kind == TOOL_REPLAY_FAULT_TRUNCATE) {
            len /= 2;
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": fault %s: truncated frame %" PRIu64
                    " to %zu of %zu bytes\n",
                    s->id, f->spec, k, len, whole);
            g.faults_applied++;
        }
    }
    int n = lws_write(wsi, (unsigned char *)p, len, gz ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (n < 0) {
        fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": write failed\n", s->id);
        return -1;
    }
    s->sent = k;
    if (g.clones && ++s->ci < s->n_wl) {
        lws_callback_on_writable(wsi); /* the same frame for the next clone */
        g.frames++;
        g.bytes += len;
        return 0;
    }
    s->ci = 0;
    s->pos++;
    if (s->pos > s->rec->published)
        s->rec->published = s->pos;
    g.frames++;
    g.bytes += len;
    for (size_t i = 0; i < g.n_faults; i++) {
        const tool_replay_fault_t *f = &g.faults[i];
        if (f->kind == TOOL_REPLAY_FAULT_STALL && f->at == k && fault_applies(s, f)) {
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": fault %s: stalling %" PRIu32
                    " ms after frame %" PRIu64 "\n",
                    s->id, f->spec, f->ms, k);
            g.faults_applied++;
            s->hold_until_us = now + (int64_t)f->ms * 1000;
            s->pass_start_us += (int64_t)f->ms * 1000;
        }
    }
    lws_callback_on_writable(wsi);
    return 0;
}

/* A text message (or a fragment of one) from the client while waiting for subscribes. */
static int ws_receive(struct lws *wsi, sess_t *s, const char *in, size_t len)
{
    if (s->st != SS_WAIT_SUB || lws_frame_is_binary(wsi))
        return 0;
    if (s->rx_len + len > TOOL_REPLAY_RX_MAX) {
        fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": client message over %d bytes\n", s->id,
                TOOL_REPLAY_RX_MAX);
        return -1;
    }
    if (tg_grow(&s->rx, &s->rx_cap, s->rx_len + len + 1, 1, 1024) < 0)
        return -1;
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    if (!lws_is_final_fragment(wsi))
        return 0;
    if (g.clones) { /* the client's own subscribes: they name its clones */
        tool_replay__clone_scan(s->rec, s->rx, s->rx_len, s->want);
        s->rx_len = 0;
        s->n_sub++;
        lws_set_timer_usecs(wsi, (lws_usec_t)g.sub_settle_ms * 1000);
        return 0;
    }
    const char *want = s->rec->r->sent[s->n_sub];
    if (!tool_replay_json_loose_eq(s->rx, s->rx_len, want, strlen(want)))
        fprintf(stderr,
                "tickgate-replay: conn %" PRIu64 ": warning: client message %zu differs "
                "from the recorded one\n  got:      %.*s\n  recorded: %s\n",
                s->id, s->n_sub + 1, (int)(s->rx_len > 500 ? 500 : s->rx_len), s->rx, want);
    s->rx_len = 0;
    if (++s->n_sub < s->rec->r->n_sent) {
        /* Clients batch subscriptions differently from the recorder (one message for all
           channels, or one per symbol): once the client has said something, a short quiet
           period also ends the wait. */
        lws_set_timer_usecs(wsi, (lws_usec_t)g.sub_settle_ms * 1000);
        return 0;
    }
    if (s->n_sub == s->rec->r->n_sent) {
        if (g.verbose)
            fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": %zu subscribe messages received\n",
                    s->id, s->n_sub);
        start_stream(wsi, s);
    }
    return 0;
}

/*
 * URL-subscribed venues (Binance combined streams: /stream?streams=a/b/c): warn when the
 * client's query differs from the recorded URL's. The recording is served either way.
 */
static void check_query(struct lws *wsi, const sess_t *s)
{
    const char *want = strchr(s->rec->r->url, '?');
    if (!want)
        return;
    want++;
    char got[sizeof(s->rec->r->url)], frag[sizeof(got)];
    size_t n = 0;
    got[0] = 0;
    for (int i = 0;
         lws_hdr_copy_fragment(wsi, frag, (int)sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        int w = snprintf(got + n, sizeof(got) - n, "%s%s", i ? "&" : "", frag);
        if (w < 0 || (size_t)w >= sizeof(got) - n)
            break;
        n += (size_t)w;
    }
    if (strcmp(got, want) != 0)
        fprintf(stderr,
                "tickgate-replay: conn %" PRIu64 ": warning: client asked for ?%s, the "
                "recording was made with ?%s (serving the recording anyway)\n",
                s->id, got, want);
}

/* --clone: the clones a connection asks for in its URL's query ("/stream?streams=a_1@depth/...",
 * Binance's combined streams), each '&' part as libwebsockets splits them. A part longer than
 * the buffer is not read: logged, the connection's subscribe messages still count. */
static void clone_scan_query(struct lws *wsi, sess_t *s)
{
    static char frag[1 << 16];
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, (int)sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n == 0 || (n < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0))
            return; /* no more parts */
        if (n < 0) {
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": query part %d too long (%d bytes), "
                    "its streams not read\n",
                    s->id, i, lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i));
            continue;
        }
        tool_replay__clone_scan(s->rec, frag, (size_t)n, s->want);
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sess_t *s = user;
    char uri[512];
    const char *rest;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
            !tool_replay__route(uri, &rest)) {
            fprintf(stderr, "tickgate-replay: rejecting websocket for unknown path\n");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof(*s));
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
            snprintf(uri, sizeof(uri), "/");
        s->rec = tool_replay__route(uri, &rest);
        if (!s->rec)
            return -1;
        s->kind = SESS_WS;
        s->id = ++g.conns_total;
        s->pos = s->first = tool_replay__resume_pos(s->rec);
        if (s->pos && !g.no_lead &&
            tool_replay_trades_cb_last(s->rec, s->pos, &s->lead, &s->lead_len) < 0)
            return -1;
        g.clients++;
        if (g.verbose)
            fprintf(stderr, "tickgate-replay: conn %" PRIu64 ": open %s -> %s\n", s->id, uri,
                    s->rec->name);
        check_query(wsi, s);
        if (g.clones) {
            if (!(s->want = calloc(g.clones, 1)))
                return -1;
            tool_replay__clone_scan(s->rec, uri, strlen(uri), s->want);
            clone_scan_query(wsi, s);
        }
        tool_replay__live_track(s);
        /* wait for subscribe messages where the recording has some, and with --clone where the
           URL named no clone (a recording subscribed by URL streams at once, as its venue) */
        bool url_clones = false;
        for (unsigned k = 0; g.clones && k < g.clones && !url_clones; k++)
            url_clones = s->want[k] != 0;
        if ((s->rec->r->n_sent > 0 || (g.clones && !url_clones)) && !g.no_gate) {
            s->st = SS_WAIT_SUB;
            lws_set_timer_usecs(wsi, (lws_usec_t)g.sub_timeout_ms * 1000);
        } else {
            start_stream(wsi, s);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(wsi, s, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(wsi, s);
    case LWS_CALLBACK_TIMER:
        if (s->kind != SESS_WS)
            return 0;
        if (s->st == SS_WAIT_SUB && s->n_sub > 0) {
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": client sent %zu of %zu recorded subscribe "
                    "messages, then nothing for %u ms; streaming\n",
                    s->id, s->n_sub, s->rec->r->n_sent, g.sub_settle_ms);
            start_stream(wsi, s);
            return 0;
        }
        if (s->st == SS_WAIT_SUB) {
            static const char why[] = "no subscribe";
            fprintf(stderr,
                    "tickgate-replay: conn %" PRIu64 ": client sent %zu of %zu subscribe "
                    "messages in %u ms; closing\n",
                    s->id, s->n_sub, s->rec->r->n_sent, g.sub_timeout_ms);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                             sizeof(why) - 1);
            return -1;
        }
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (s && s->kind == SESS_WS) {
            g.clients--;
            if (g.verbose)
                fprintf(stderr,
                        "tickgate-replay: conn %" PRIu64 ": closed after %" PRIu64 " frames\n",
                        s->id, s->sent);
            s->kind = SESS_NONE;
        }
        if (s)
            tool_replay__live_untrack(s);
        if (s)
            sess_free(s);
        return 0;
    case LWS_CALLBACK_HTTP:
        return tool_replay__http_request(wsi, s, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return tool_replay__http_writeable(wsi, s);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            sess_free(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"tickgate-replay", callback, sizeof(sess_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void fmt_bytes(char *b, size_t n, double v)
{
    if (v >= 1e9)
        snprintf(b, n, "%.2f GB", v / 1e9);
    else if (v >= 1e6)
        snprintf(b, n, "%.2f MB", v / 1e6);
    else if (v >= 1e3)
        snprintf(b, n, "%.1f kB", v / 1e3);
    else
        snprintf(b, n, "%.0f B", v);
}

static void on_progress(lws_sorted_usec_list_t *sul)
{
    int64_t now = tool_replay__now_us();
    double dt = (double)(now - g.last_us) / 1e6;
    char tot[32], rate[32];
    fmt_bytes(tot, sizeof(tot), (double)g.bytes);
    fmt_bytes(rate, sizeof(rate), dt > 0 ? (double)(g.bytes - g.last_bytes) / dt : 0);
    fprintf(stderr,
            "tickgate-replay: %6.1f s  %8.0f frames/s  %s/s  frames %" PRIu64
            "  bytes %s  clients %u (total %" PRIu64 ")\n",
            (double)(now - g.start_us) / 1e6,
            dt > 0 ? (double)(g.frames - g.last_frames) / dt : 0.0, rate, g.frames, tot, g.clients,
            g.conns_total);
    g.last_us = now;
    g.last_frames = g.frames;
    g.last_bytes = g.bytes;
    lws_sul_schedule(g.ctx, 0, sul, on_progress, LWS_US_PER_SEC);
}

static void serve_usage(FILE *o)
{
    fprintf(o,
            "usage: tickgate-replay serve [options] FILE...\n"
            "Serve tgrec recordings (plain or .zst) as a local exchange on 127.0.0.1.\n"
            "Each FILE is at ws(s)://127.0.0.1:P/rec/<name> (<name> = basename without\n"
            ".tgrec[.zst]); with one FILE, at any path too. REST book snapshots recorded in-band\n"
            "are served at /rec/<name>/api/v3/depth?symbol=S, /fapi/v1/depth, /dapi/v1/depth,\n"
            "/api/v2/order_book/<pair> (and without /rec/<name> with one FILE). Binance trade\n"
            "history (/api/v3|fapi/v1|dapi/v1 /historicalTrades, /aggTrades ?symbol&fromId&limit)\n"
            "is served from the recording's trade frames published so far.\n"
            "\n"
            "  --port P          listen port (default 9443; 0 = pick a free one). The port is\n"
            "                    printed on stdout as `listening port=P`.\n"
            "  --tls --cert C --key K   serve wss:// and https:// with this PEM cert and key\n"
            "  --speed X         recorded pace times X (default 1)\n"
            "  --rate N          N frames/s per connection, evenly spaced (overrides --speed)\n"
            "  --max             as fast as each client reads\n"
            "  --resume N        one timeline per recording, as a venue has: a new connection\n"
            "                    starts where the last one stopped, N frames later (published\n"
            "                    while nobody was connected: served only by the REST trade\n"
            "                    history). Default: every connection from the start. A new\n"
            "                    connection first gets what its venue sends on subscribe\n"
            "                    from the published trades (Coinbase: a last_match per\n"
            "                    product; OKX: each instrument's newest trade push; Kraken\n"
            "                    Futures: a trade_snapshot of each product's newest 100)\n"
            "  --no-lead         with --resume: leave those out (a venue without that history)\n"
            "  --trade-snapshot N  Crypto.com under --resume: each reconnect gets per\n"
            "                    instrument the push of its N newest published trades, as\n"
            "                    the venue sends on subscribe (default 100; 0: none)\n"
            "  --loop N          play the recording N times per connection (0 = forever; def. 1)\n"
            "  --hold            keep the connection open at the end (default: close 1000)\n"
            "  --sub-timeout MS  wait this long for the client's subscribes (default 5000)\n"
            "  --sub-settle MS   after the client's first message, this long without another\n"
            "                    one also starts the stream (default 300; clients batch\n"
            "                    subscribes differently from the recorder)\n"
            "  --no-gate         stream at once; do not wait for the recorded subscribes\n"
            "  --clone N         serve every instrument as N: <sym>, <sym>_1 .. <sym>_<N-1>\n"
            "                    (ids untouched; a connection gets the clones it subscribes\n"
            "                    to, its frames once per clone; REST snapshots likewise)\n"
            "  --live-snapshots  Binance REST depth answers as of the frames already sent to\n"
            "                    the newest connection serving the symbol (else the furthest\n"
            "                    sent): the recorded snapshot plus the diffs since, limit=N\n"
            "                    levels a side (default: the recorded snapshot's own)\n"
            "  --rest-429 K:S    answer the first K REST GETs with 429 and Retry-After: S\n"
            "                    (a venue's rate limit; env TG_REPLAY_REST_429 likewise)\n"
            "  --fault SPEC      repeatable; frames are counted from 1 per connection:\n"
            "                    drop-after=N   close TCP abruptly after N frames\n"
            "                    stall=T@N      pause T ms after frame N\n"
            "                    corrupt@N      flip the low bit of 8 bytes of frame N\n"
            "                    truncate@N     send only the first half of frame N\n"
            "                    oversize@N     send a %zu-byte junk frame before frame N\n"
            "                    append ,times=K to apply it to the first K connections only\n"
            "  --progress/--quiet  force/suppress the per-second progress line (default: on\n"
            "                    if stderr is a terminal)\n"
            "  -v, --verbose     log connections; twice: libwebsockets notices too\n",
            TOOL_REPLAY_OVERSIZE_LEN);
}

/* --rest-429 K:S */
static int parse_rest_429(const char *v)
{
    char *e = NULL;
    unsigned long k = strtoul(v, &e, 10);
    if (e == v || *e != ':' || k > 1000000ul)
        return -EINVAL;
    const char *sv = e + 1;
    unsigned long sec = strtoul(sv, &e, 10);
    if (e == sv || *e || sec > 3600ul)
        return -EINVAL;
    g.rest_429_left = (unsigned)k;
    g.rest_429_after_s = (unsigned)sec;
    return 0;
}

/* v as a decimal integer in [lo, hi] into *out. @return false (out unchanged) when it is not. */
static bool parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
    char *e = NULL;
    unsigned long n = strtoul(v, &e, 10);
    if (*e || n < lo || n > hi)
        return false;
    *out = (unsigned)n;
    return true;
}

/* The options that set a flag, and those that take an integer in [lo, hi]. */
static const struct {
    const char *name;
    bool *flag;
} serve_flags[] = {
    {"--tls", &g.tls},
    {"--max", &g.max},
    {"--no-gate", &g.no_gate},
    {"--hold", &g.hold},
    {"--live-snapshots", &g.live_snapshots},
    {"--no-lead", &g.no_lead},
};
static const struct {
    const char *name;
    unsigned long lo, hi;
    unsigned *out;
} serve_uints[] = {
    {"--loop", 0, 1000000000, &g.loops},
    {"--sub-settle", 1, 3600000, &g.sub_settle_ms},
    {"--sub-timeout", 1, 3600000, &g.sub_timeout_ms},
    {"--trade-snapshot", 0, 1000000, &g.trade_snap},
};

/* Option a (with the next argument v, NULL at the end) if it is one of the tables'.
 * @return the arguments it took (1 or 2), 0 when it is none of them, -1 when its value is bad
 * or missing. */
static int table_option(const char *a, const char *v)
{
    for (size_t k = 0; k < sizeof(serve_flags) / sizeof(serve_flags[0]); k++)
        if (strcmp(a, serve_flags[k].name) == 0) {
            *serve_flags[k].flag = true;
            return 1;
        }
    for (size_t k = 0; k < sizeof(serve_uints) / sizeof(serve_uints[0]); k++)
        if (strcmp(a, serve_uints[k].name) == 0)
            return v && parse_uint(v, serve_uints[k].lo, serve_uints[k].hi, serve_uints[k].out)
                       ? 2
                       : -1;
    return 0;
}

static int parse_args(int argc, char **argv, int *first_file)
{
    const char *env429 = getenv("TG_REPLAY_REST_429");
    if (env429 && *env429 && parse_rest_429(env429) < 0) {
        fprintf(stderr, "tickgate-replay: bad TG_REPLAY_REST_429 '%s' (K:S)\n", env429);
        return -EINVAL;
    }
    g.port = 9443;
    g.speed = 1.0;
    g.loops = 1;
    g.sub_timeout_ms = 5000;
    g.sub_settle_ms = 300;
    g.trade_snap = TOOL_REPLAY_TRADE_SNAP;
    g.progress = isatty(STDERR_FILENO);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *e = NULL;
        int took = table_option(a, v);
        if (took < 0)
            goto bad;
        if (took > 0) {
            i += took - 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            exit(0);
        } else if (strcmp(a, "--port") == 0 && v) {
            long p = strtol(v, &e, 10);
            if (*e || p < 0 || p > 65535)
                goto bad;
            g.port = (int)p;
            i++;
        } else if (strcmp(a, "--cert") == 0 && v) {
            g.cert = v;
            i++;
        } else if (strcmp(a, "--key") == 0 && v) {
            g.key = v;
            i++;
        } else if (strcmp(a, "--speed") == 0 && v) {
            g.speed = strtod(v, &e);
            if (*e || !(g.speed > 0))
                goto bad;
            i++;
        } else if (strcmp(a, "--rate") == 0 && v) {
            g.rate = strtod(v, &e);
            if (*e || !(g.rate > 0) || g.rate > 1e9)
                goto bad;
            i++;
        } else if (strcmp(a, "--resume") == 0 && v) {
            unsigned long long n = strtoull(v, &e, 10);
            if (*e || v[0] < '0' || v[0] > '9')
                goto bad;
            g.resume = true;
            g.away = n;
            i++;
        } else if (strcmp(a, "--clone") == 0 && v) {
            unsigned n;
            if (!parse_uint(v, 1, 1000000, &n))
                goto bad;
            g.clones = n > 1 ? n : 0;
            i++;
        } else if (strcmp(a, "--rest-429") == 0 && v) {
            if (parse_rest_429(v) < 0)
                goto bad;
            i++;
        } else if (strcmp(a, "--fault") == 0 && v) {
            if (g.n_faults == TOOL_REPLAY_FAULT_MAX) {
                fprintf(stderr, "tickgate-replay: at most %d --fault\n", TOOL_REPLAY_FAULT_MAX);
                return -EINVAL;
            }
            if (tool_replay_fault_parse(&g.faults[g.n_faults], v) < 0) {
                fprintf(stderr, "tickgate-replay: bad --fault '%s' (see --help)\n", v);
                return -EINVAL;
            }
            g.n_faults++;
            i++;
        } else if (strcmp(a, "--progress") == 0) {
            g.progress = true;
        } else if (strcmp(a, "--quiet") == 0) {
            g.progress = false;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            g.verbose++;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-') {
            goto bad;
        } else {
            break;
        }
        continue;
    bad:
        fprintf(stderr, "tickgate-replay: bad or incomplete option '%s' (see serve --help)\n", a);
        return -EINVAL;
    }
    if (g.tls && (!g.cert || !g.key)) {
        fprintf(stderr, "tickgate-replay: --tls needs --cert and --key\n");
        return -EINVAL;
    }
    if (i >= argc) {
        fprintf(stderr, "tickgate-replay: no recording given (see serve --help)\n");
        return -EINVAL;
    }
    *first_file = i;
    return 0;
}

/* Why a recording cannot be served, in words (tg_strerror's "Bad message" and "protocol
 * violation by peer" say nothing about a file). */
static const char *load_error(int rc)
{
    if (rc == -EBADMSG)
        return "truncated or corrupt zstd data (the file ends inside, or breaks, a compressed "
               "frame): not served, since a shorter stream would pass for the recording";
    if (rc == TG_EPROTO)
        return "not a tgrec recording (no '# tgrec 1' header line; a .zst must hold one "
               "compressed)";
    return tg_strerror(rc);
}

static int load_recordings(char **files, int n)
{
    g.recs = calloc((size_t)n, sizeof(*g.recs));
    if (!g.recs)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        tool_replay_rec_t *r = &g.recs[i];
        int rc = tool_replay_rec_load(r, files[i]);
        if (rc < 0) {
            fprintf(stderr, "tickgate-replay: %s: %s\n", files[i], load_error(rc));
            return rc;
        }
        r->trade_snap = g.trade_snap;
        g.n_recs++;
        for (size_t j = 0; j < g.n_recs - 1; j++)
            if (strcmp(g.recs[j].name, r->name) == 0) {
                fprintf(stderr, "tickgate-replay: two recordings named '%s'\n", r->name);
                return -EINVAL;
            }
        if (r->bad_lines)
            fprintf(stderr, "tickgate-replay: %s: %zu unparsable lines skipped\n", r->name,
                    r->bad_lines);
        for (size_t k = 0; k < r->n_frames; k++)
            if (ensure_buf(r->frames[k].len) < 0)
                return -ENOMEM;
    }
    return 0;
}

int tool_replay_serve_main(int argc, char **argv)
{
    int first = 0, rc = 1;
    memset(&g, 0, sizeof(g));
    if (parse_args(argc, argv, &first) < 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(g.verbose >= 2 ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
    if (load_recordings(argv + first, argc - first) < 0 ||
        (g.live_snapshots && tool_replay__live_build() < 0))
        goto out;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (g.tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.gid = -1;
    info.uid = -1;
    g.ctx = lws_create_context(&info);
    if (!g.ctx) {
        fprintf(stderr, "tickgate-replay: lws_create_context failed\n");
        goto out;
    }
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (g.tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = g.port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.vhost_name = "replay";
    info.ssl_cert_filepath = g.tls ? g.cert : NULL;
    info.ssl_private_key_filepath = g.tls ? g.key : NULL;
    struct lws_vhost *vh = lws_create_vhost(g.ctx, &info);
    if (!vh) {
        fprintf(stderr, "tickgate-replay: cannot listen on 127.0.0.1:%d%s\n", g.port,
                g.tls ? " (or bad --cert/--key)" : "");
        goto out;
    }
    int port = lws_get_vhost_listen_port(vh);
    const char *scheme = g.tls ? "wss" : "ws";
    for (size_t i = 0; i < g.n_recs; i++)
        fprintf(stderr,
                "tickgate-replay: %s://127.0.0.1:%d/rec/%s  %zu frames, %zu REST "
                "snapshots, %zu subscribe messages, venue %s\n",
                scheme, port, g.recs[i].name, g.recs[i].n_frames, g.recs[i].n_snaps,
                g.recs[i].r->n_sent, g.recs[i].r->venue[0] ? g.recs[i].r->venue : "?");
    printf("listening port=%d\n", port);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    g.start_us = g.last_us = tool_replay__now_us();
    if (g.progress)
        lws_sul_schedule(g.ctx, 0, &g.sul_progress, on_progress, LWS_US_PER_SEC);
    while (!g_stop)
        if (lws_service(g.ctx, 0) < 0)
            break;
    rc = 0;
    double el = (double)(tool_replay__now_us() - g.start_us) / 1e6;
    char tot[32];
    fmt_bytes(tot, sizeof(tot), (double)g.bytes);
    fprintf(stderr,
            "tickgate-replay: done: frames %" PRIu64 "  bytes %s  elapsed %.1f s  %.0f "
            "frames/s  connections %" PRIu64 "  REST %" PRIu64 "  faults %" PRIu64 "\n",
            g.frames, tot, el, el > 0 ? (double)g.frames / el : 0.0, g.conns_total, g.http_requests,
            g.faults_applied);
out:
    if (g.ctx) {
        lws_sul_cancel(&g.sul_progress);
        lws_context_destroy(g.ctx);
        g.ctx = NULL;
    }
    for (size_t i = 0; i < g.n_recs; i++)
        tool_replay_rec_free(&g.recs[i]);
    free(g.recs);
    free(g.buf);
    gzip_done();
    free(g.junk);
    tool_replay__live_free();
    return rc;
}
