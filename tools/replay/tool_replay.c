/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay: a local exchange that serves tgrec recordings (websocket frames plus the
 * REST book snapshots a venue needs). This file is the entry point: subcommand dispatch and
 * the top-level help. `serve` is in tool_replay_serve.c; `books` in tool_replay_books.c.
 * Thread: main.
 */
#include <stdio.h>
#include <string.h>

#include "tool_replay.h"

static void usage(FILE *o)
{
    fprintf(o,
            "usage: tickgate-replay <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve [--port P] [--tls --cert C --key K] [--speed X | --max] [--loop N]\n"
            "        [--hold] [--fault SPEC]... FILE...\n"
            "        serve recordings as a local exchange at ws(s)://127.0.0.1:P/rec/<name>\n"
            "  books FILE [--depth N] [--bar 1m] [--venue V] --out result.json\n"
            "        rebuild books, trades and bars from a recording (offline)\n"
            "\n"
            "`tickgate-replay <command> --help` describes a command; docs/replay.md has more.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return tool_replay_serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "books") == 0)
        return tool_replay_books_main(argc - 1, argv + 1);
    fprintf(stderr, "tickgate-replay: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
