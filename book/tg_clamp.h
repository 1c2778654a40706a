/* SPDX-License-Identifier: MIT */
/*
 * Clamping a value into a range: one definition for the formatters' scale limits and the
 * tools' option limits.  Thread: any.
 */
#ifndef TG_CLAMP_H
#define TG_CLAMP_H

/** v limited to [lo, hi] (lo <= hi). */
static inline int tg_clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

#endif
