/* SPDX-License-Identifier: MIT */
/* Table-driven configuration keys (tg_cfgkey.h). */
#include "tg_cfgkey.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"

const tg_cfgkey_t *tg_cfgkey_find(const tg_cfgkey_t *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static int parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*v == '-' || *v == '+' || *v == ' ')
        return -1;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || errno)
        return -1;
    *out = x;
    return 0;
}

int tg_cfgkey_set(const tg_cfgkey_t *keys, size_t n, void *cfg, const char *key, const char *value,
                  char *err, size_t cap)
{
    const tg_cfgkey_t *k = tg_cfgkey_find(keys, n, key);
    if (!k) {
        snprintf(err, cap, "unknown key '%s'", key);
        return -ENOENT;
    }
    char *field = (char *)cfg + k->off;
    uint64_t x;
    switch (k->type) {
    case TG_CFG_BOOL: {
        int b;
        if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
            !strcasecmp(value, "on"))
            b = 1;
        else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
                 !strcasecmp(value, "off"))
            b = 0;
        else {
            snprintf(err, cap, "%s must be a boolean (true|false): '%s'", key, value);
            return TG_ECONFIG;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    case TG_CFG_U32:
    case TG_CFG_MB:
    case TG_CFG_SEC:
        if (parse_u64(value, &x) < 0 || x < k->min || x > k->max) {
            snprintf(err, cap, "%s must be %llu..%llu%s: '%s'", key, (unsigned long long)k->min,
                     (unsigned long long)k->max,
                     k->type == TG_CFG_MB    ? " (MiB)"
                     : k->type == TG_CFG_SEC ? " (seconds)"
                                             : "",
                     value);
            return TG_ECONFIG;
        }
        if (k->type == TG_CFG_U32) {
            uint32_t u = (uint32_t)x;
            memcpy(field, &u, sizeof(u));
        } else if (k->type == TG_CFG_MB) {
            uint64_t b = x << 20;
            memcpy(field, &b, sizeof(b));
        } else {
            int64_t ms = (int64_t)x * 1000;
            memcpy(field, &ms, sizeof(ms));
        }
        return 0;
    case TG_CFG_STR: {
        size_t len = strlen(value);
        if (len >= k->size || (len == 0 && k->min > 0)) {
            snprintf(err, cap, "%s must be 1..%zu characters", key, k->size - 1);
            return TG_ECONFIG;
        }
        memcpy(field, value, len + 1);
        return 0;
    }
    }
    snprintf(err, cap, "%s: bad key type", key);
    return TG_ECONFIG;
}

int tg_cfgkey_defaults(const tg_cfgkey_t *keys, size_t n, void *cfg)
{
    char err[160];
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].def)
            continue;
        if (tg_cfgkey_set(keys, n, cfg, keys[i].key, keys[i].def, err, sizeof(err)) < 0)
            return TG_ECONFIG;
    }
    return 0;
}

int tg_cfgkey_get(const tg_cfgkey_t *keys, size_t n, const void *cfg, const char *key, char *buf,
                  size_t cap)
{
    const tg_cfgkey_t *k = tg_cfgkey_find(keys, n, key);
    if (!k)
        return -ENOENT;
    const char *field = (const char *)cfg + k->off;
    switch (k->type) {
    case TG_CFG_BOOL: {
        int b;
        memcpy(&b, field, sizeof(b));
        snprintf(buf, cap, "%s", b ? "true" : "false");
        break;
    }
    case TG_CFG_U32: {
        uint32_t u;
        memcpy(&u, field, sizeof(u));
        snprintf(buf, cap, "%u", u);
        break;
    }
    case TG_CFG_MB: {
        uint64_t b;
        memcpy(&b, field, sizeof(b));
        snprintf(buf, cap, "%llu", (unsigned long long)(b >> 20));
        break;
    }
    case TG_CFG_SEC: {
        int64_t ms;
        memcpy(&ms, field, sizeof(ms));
        snprintf(buf, cap, "%lld", (long long)(ms / 1000));
        break;
    }
    case TG_CFG_STR:
        snprintf(buf, cap, "%s", field);
        break;
    }
    return 0;
}
