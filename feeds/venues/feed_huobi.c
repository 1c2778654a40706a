/* SPDX-License-Identifier: MIT */
/* STUB: handler not written yet (on_frame NULL: not offered by feed_venue_find). */
#include "venues.h"

const feed_venue_t feed_venue_huobi = {.name = "huobi"};
const feed_venue_t feed_venue_huobi_dm_swap = {.name = "huobi-dm-swap"};
const feed_venue_t feed_venue_huobi_dm_linear_swap = {.name = "huobi-dm-linear-swap"};
