/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client's shared-memory source (tg_client_shm.c): the same API as the Redis
 * source, reading the segment a co-located gateway's [shm] sink writes (docs/shm.md). A
 * tg_client_t whose URL is "shm:///name" forwards every public call here (tg_client.c).
 * Not installed.  Thread: owner of the tg_client_t (one thread at a time).
 */
#ifndef TG_CLIENT_SHM_H
#define TG_CLIENT_SHM_H

#include <stdbool.h>

#include "tickgate/client.h"

typedef struct tgc_shm tgc_shm_t;

/** Is url a shared-memory URL ("shm:///name" or "shm://name")? */
bool tgc_shm_url(const char *url);

/** Create (nothing mapped yet). @return 0; -EINVAL (bad name); -ENOMEM. */
int tgc_shm_create(tgc_shm_t **out, const tg_client_cfg_t *cfg);
/** Unmap and free; *s becomes NULL; NULL is a no-op. */
void tgc_shm_destroy(tgc_shm_t **s);
/** Record a subscription (arguments already checked by tg_client_subscribe). Candles are
 *  not in the segment: a CANDLES-only subscription matches nothing.
 *  @return 0; -EBUSY (connected); -ENOSPC. */
int tgc_shm_subscribe(tgc_shm_t *s, const char *venue, const char *symbol, unsigned kinds);
/** Map the segment (waits up to connect_timeout_ms for one being created) and start the join.
 *  @return 0; -ECONNREFUSED (no segment of that name); -ETIMEDOUT (still being created);
 *  -EPROTO (a layout this library does not know); -EACCES; -EINVAL (no subscription). */
int tgc_shm_connect(tgc_shm_t *s);
/** As tg_client_next(). */
int tgc_shm_next(tgc_shm_t *s, tg_client_event_t *ev, int timeout_ms);
/** As tg_client_book(). */
const tg_client_book_t *tgc_shm_book(tgc_shm_t *s, const char *venue, const char *symbol);
/** As tg_client_counters(). */
void tgc_shm_counters(const tgc_shm_t *s, tg_client_counters_t *out);
/** As tg_client_errstr(). */
const char *tgc_shm_errstr(const tgc_shm_t *s);

#endif
