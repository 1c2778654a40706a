/* SPDX-License-Identifier: MIT */
/* The sink table (sink.h): one row per sink kind, in start order. */
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "book/tg_cfgkey.h"
#include "book/tg_err.h"

static const tg_sink_ops_t *const sinks[] = {
    &tg_sink_postgres,
    &tg_sink_redis,
    &tg_sink_shm,
};

const tg_sink_ops_t *tg_sink_at(size_t i)
{
    return i < sizeof(sinks) / sizeof(sinks[0]) ? sinks[i] : NULL;
}

const tg_sink_ops_t *tg_sink_find(const char *name)
{
    for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}

void tg_sink_cfg_defaults(const tg_sink_ops_t *o, void *cfg)
{
    memset(cfg, 0, o->cfg_size);
    tg_cfgkey_defaults(o->keys, o->n_keys, cfg);
}

bool tg_sink_enabled(const tg_sink_ops_t *o, const void *cfg)
{
    const tg_cfgkey_t *k = tg_cfgkey_find(o->keys, o->n_keys, "enabled");
    if (!k)
        return true;
    int on;
    memcpy(&on, (const char *)cfg + k->off, sizeof(on));
    return on != 0;
}

int tg_sink_cfg_set(const tg_sink_ops_t *o, void *cfg, const char *key, const char *value,
                    char *err, size_t cap)
{
    if (o->cfg_key) {
        int rc = o->cfg_key(key, value, err, cap);
        if (rc < 0)
            return rc;
    }
    int rc = tg_cfgkey_set(o->keys, o->n_keys, cfg, key, value, err, cap);
    return rc == -ENOENT ? TG_ECONFIG : rc;
}

int tg_sink_mkdir_p(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}
