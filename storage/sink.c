/* SPDX-License-Identifier: MIT */
/* The sink table (sink.h): one row per sink kind, in start order. */
#include "sink.h"

#include <string.h>

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
