/* SPDX-License-Identifier: MIT */
/*
 * Table-driven configuration keys: a module describes each `key = value` of its config
 * section once (type, place in its settings struct, range, default, help), and this file
 * parses, checks and documents them. The gateway's INI reader hands every key of a section
 * to its owner's table; docs/config.md is checked against the tables by a test.
 * Thread: any (pure functions over caller-owned memory).
 */
#ifndef TG_CFGKEY_H
#define TG_CFGKEY_H

#include <stddef.h>
#include <stdint.h>

typedef enum tg_cfgkey_type {
    TG_CFG_BOOL, /* int: 1/0 from true|false|yes|no|on|off|1|0 */
    TG_CFG_U32,  /* uint32_t in [min, max] */
    TG_CFG_MB,   /* uint64_t bytes, written in MiB in [min, max] */
    TG_CFG_SEC,  /* int64_t ms, written in whole seconds in [min, max] */
    TG_CFG_STR,  /* char[size], non-empty unless min == 0 */
} tg_cfgkey_type_t;

typedef struct tg_cfgkey {
    const char *key;
    tg_cfgkey_type_t type;
    size_t off;  /* offsetof(settings, field) */
    size_t size; /* TG_CFG_STR: the char array's size */
    uint64_t min, max;
    const char *def; /* default, as it would be written in the file */
    const char *help;
} tg_cfgkey_t;

/** A table row for the field f of the settings struct S: its offset and size from S. */
#define TG_CFGKEY_ROW(S, k, t, f, mn, mx, d, h)                                                    \
    {                                                                                              \
        k, t, offsetof(S, f), sizeof(((S *)0)->f), mn, mx, d, h                                    \
    }

/** Set every key of the table to its default in cfg. @return 0 (or the first key whose
 *  default does not parse: a bug, reported as TG_ECONFIG). */
int tg_cfgkey_defaults(const tg_cfgkey_t *keys, size_t n, void *cfg);

/**
 * Parse value into the field of `key`.
 * @return 0; -ENOENT (no such key: err says "unknown key 'k'"); TG_ECONFIG (err says why,
 *         with the accepted range: "batch_rows must be 1..10000000: 'x'").
 */
int tg_cfgkey_set(const tg_cfgkey_t *keys, size_t n, void *cfg, const char *key, const char *value,
                  char *err, size_t cap);

/** The current value of key in cfg as it would be written in the file ("5000", "true").
 *  @return 0 or -ENOENT. */
int tg_cfgkey_get(const tg_cfgkey_t *keys, size_t n, const void *cfg, const char *key, char *buf,
                  size_t cap);

/** The row of key, or NULL. */
const tg_cfgkey_t *tg_cfgkey_find(const tg_cfgkey_t *keys, size_t n, const char *key);

#endif
