/* SPDX-License-Identifier: MIT */
/*
 * The wired gateway: registry, feed loops (feeds/), the builder (book/), the PostgreSQL writer
 * and the Redis publisher (storage/), metrics and the HTTP endpoint. The only place that knows
 * every layer.
 * Thread: main (create/start/stop/destroy); gw_pipeline_health() runs on the metrics thread.
 */
#ifndef GW_PIPELINE_H
#define GW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"

typedef struct gw_pipeline gw_pipeline_t;

/**
 * Build everything from a validated config: register instruments, create rings, loops,
 * builder, writers; connect to PostgreSQL and Redis to fail fast on bad settings.
 * @return 0; TG_ECONFIG / TG_EPG / TG_EREDIS / -errno with the reason logged.  Thread: main.
 */
int gw_pipeline_create(gw_pipeline_t **out, const gw_cfg_t *cfg);

/** Start the threads (writers first, then the builder, then the feeds, then HTTP). */
int gw_pipeline_start(gw_pipeline_t *p);

/**
 * Graceful stop in dependency order: feeds stop (no new frames), the builder drains every feed
 * ring and publishes final snapshots, the writers drain and flush (PostgreSQL commits or
 * spills + fsyncs; Redis flushes its pipeline). @return 0, or 1 if anything was lost (logged).
 */
int gw_pipeline_stop(gw_pipeline_t *p);

void gw_pipeline_destroy(gw_pipeline_t **p);

/** One-line progress summary for the log (frames, events, rows, messages). */
void gw_pipeline_progress(gw_pipeline_t *p, char *buf, size_t cap);

/** Port the HTTP endpoint listens on (0 if disabled). */
int gw_pipeline_http_port(const gw_pipeline_t *p);

#endif
