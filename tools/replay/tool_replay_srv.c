/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay server state and routing: the one server object (tool_replay__srv), the
 * clock, and the map from a request path to its recording. Both the websocket side
 * (tool_replay_serve.c) and the HTTP side (tool_replay_http.c) use these; this file uses
 * neither, so the two sides do not form a circle (serve -> http -> srv, serve -> srv).
 * Thread: main.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tool_replay_serve.h"

tool_replay_srv_t tool_replay__srv;
#define g tool_replay__srv

int64_t tool_replay__now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

tool_replay_rec_t *tool_replay__route(const char *uri, const char **rest)
{
    static const char pre[] = "/rec/";
    *rest = uri;
    if (strncmp(uri, pre, sizeof(pre) - 1) == 0) {
        const char *name = uri + sizeof(pre) - 1;
        size_t n = strcspn(name, "/?");
        for (size_t i = 0; i < g.n_recs; i++)
            if (strlen(g.recs[i].name) == n && memcmp(g.recs[i].name, name, n) == 0) {
                *rest = name + n;
                return &g.recs[i];
            }
    }
    return g.n_recs == 1 ? &g.recs[0] : NULL;
}
