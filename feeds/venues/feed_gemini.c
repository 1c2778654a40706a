/* SPDX-License-Identifier: MIT */
/* STUB: handler not written yet (on_frame NULL: not offered by feed_venue_find). */
#include "venues.h"

const feed_venue_t feed_venue_gemini = {.name = "gemini"};
