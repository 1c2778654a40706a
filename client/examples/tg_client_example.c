/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client example (docs/clients.md): follow VENUE SYMBOL (patterns allowed), print
 * best bid/ask of every book update and every hole, stop after COUNT book updates.
 * The poll API with the caller's own epoll loop, or (-c) the callback API.
 *
 *   cc tg_client_example.c $(pkg-config --cflags --libs tickgate-client) -o tg-client-example
 *   ./tg-client-example [-c] redis://127.0.0.1:6379 tg binance BTCUSDT 10
 *
 * Thread: main only (the client's owner).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <tickgate/client.h>

typedef struct ex_state {
    long books, want;
} ex_state_t;

static void on_event(void *ud, const tg_client_event_t *ev)
{
    ex_state_t *st = ud;
    char bid[TG_CLIENT_DEC_TEXT_MAX] = "-", ask[TG_CLIENT_DEC_TEXT_MAX] = "-";
    switch (ev->kind) {
    case TG_CLIENT_EV_BOOK: {
        const tg_client_book_t *b = ev->u.book;
        if (b->n_bids)
            tg_client_dec_text(b->bids[0].px, bid, sizeof(bid));
        if (b->n_asks)
            tg_client_dec_text(b->asks[0].px, ask, sizeof(ask));
        printf("book %s %s seq=%llu %s bid %s ask %s", ev->venue, ev->symbol,
               (unsigned long long)ev->seq, tg_client_state_name(b->state), bid, ask);
        if (b->n_bids && b->n_asks && b->state == TG_CLIENT_STATE_VALID)
            printf(" spread %.10g",
                   tg_client_dec_to_double(b->asks[0].px) - tg_client_dec_to_double(b->bids[0].px));
        printf("%s\n", ev->from_key ? " (snapshot key)" : "");
        st->books++;
        break;
    }
    case TG_CLIENT_EV_TRADE:
        tg_client_dec_text(ev->u.trade.price, bid, sizeof(bid));
        tg_client_dec_text(ev->u.trade.size, ask, sizeof(ask));
        printf("trade %s %s seq=%llu %s x %s\n", ev->venue, ev->symbol, (unsigned long long)ev->seq,
               bid, ask);
        break;
    case TG_CLIENT_EV_HOLE:
        printf("HOLE %s: %llu missing (after %llu, got %llu) %s\n", ev->channel,
               (unsigned long long)ev->u.hole.missing, (unsigned long long)ev->u.hole.seq_after,
               (unsigned long long)ev->u.hole.seq_got, ev->u.hole.recovered ? "recovered" : "lost");
        break;
    case TG_CLIENT_EV_DISCONNECTED:
        printf("DISCONNECTED %s\n", ev->text);
        break;
    case TG_CLIENT_EV_CONNECTED:
        printf("CONNECTED\n");
        break;
    default:
        break;
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int cb = argc > 1 && strcmp(argv[1], "-c") == 0;
    if (argc - cb != 6) {
        fprintf(stderr, "usage: %s [-c] URL PREFIX VENUE SYMBOL COUNT\n", argv[0]);
        return 2;
    }
    char **a = argv + cb;
    if (tg_client_version() >> 16 != TG_CLIENT_VERSION_MAJOR) {
        fprintf(stderr, "libtickgate-client %s: another major version\n",
                tg_client_version_string());
        return 1;
    }
    tg_client_cfg_t cfg;
    tg_client_cfg_defaults(&cfg);
    cfg.url = a[1];
    cfg.prefix = a[2];
    tg_client_t *c = NULL;
    if (tg_client_create(&c, &cfg) ||
        tg_client_subscribe(c, a[3], a[4], TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES, NULL)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (tg_client_connect(c)) {
        fprintf(stderr, "connect: %s\n", tg_client_errstr(c));
        tg_client_destroy(&c);
        return 1;
    }
    ex_state_t st = {0, atol(a[5])};
    if (cb) { /* callback API */
        while (st.books < st.want && tg_client_dispatch(c, 1000, on_event, &st) >= 0)
            ;
    } else { /* poll API in the caller's epoll loop */
        int ep = epoll_create1(0);
        struct epoll_event ee = {.events = EPOLLIN};
        epoll_ctl(ep, EPOLL_CTL_ADD, tg_client_fd(c), &ee);
        tg_client_event_t ev;
        while (st.books < st.want) {
            int rc;
            while (st.books < st.want && (rc = tg_client_next(c, &ev, 0)) == 1)
                on_event(&st, &ev); /* drain before waiting */
            if (st.books < st.want)
                epoll_wait(ep, &ee, 1, 1000);
        }
    }
    tg_client_destroy(&c);
    return 0;
}
