/* SPDX-License-Identifier: MIT */
/* Moved to tests/fixtures/feed_venue_util.h (part of the venue test harness, venue_harness.h);
 * this forwarder stays while test_feed_binance.c and test_feed_bybit.c still include it here. */
#include "tests/fixtures/feed_venue_util.h"
