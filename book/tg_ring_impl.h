/* SPDX-License-Identifier: MIT */
/* Do not include directly: include tg_ring.h. Inline hot path of the SPSC ring.
 * TO BE IMPLEMENTED (issue 2, core): struct tg_ring, struct tg_waiter and the inline functions
 * listed in tg_ring.h. */
#ifndef TG_RING_IMPL_H
#define TG_RING_IMPL_H
#endif
