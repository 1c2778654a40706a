/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay: a local exchange that serves tgrec recordings (websocket frames plus the
 * REST book snapshots a venue needs). This file is the entry point: subcommand dispatch and
 * the top-level help. `serve` is in tool_replay_serve.c; `books` in tool_replay_books.c.
 *
 * Built twice (tools/replay/meson.build): `tickgate-replay`, the program users run, holds
 * `books` only and links no libwebsockets/OpenSSL, so that an offline run does not pay for
 * loading them (docs/replay.md "Reading recordings": ~6 ms of its start); its `serve` executes
 * `tickgate-replay-serve` (this file with TG_REPLAY_SERVE_EXE, and the server), found next to
 * the program (build tree) or in libexecdir/tickgate (installed), with the same arguments.
 * Thread: main.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool_replay.h"
#include "tool_replay_books.h"

#ifndef TICKGATE_VERSION
#define TICKGATE_VERSION "0.1.0"
#endif

/* `books --help`: the full text (tool_replay_books.c prints only the one-line usage). */
static void books_usage(FILE *o)
{
    fprintf(o, "usage: tickgate-replay books FILE [--depth N] [--bar 1m] [--venue V] "
               "--out result.json\n"
               "\n"
               "Rebuilds the L2 books, trades and candles of a tgrec recording offline, with the\n"
               "gateway's own venue handlers and book builder, and writes them as JSON.\n"
               "\n"
               "  FILE          a tgrec recording (.tgrec or .tgrec.zst)\n"
               "  --depth N     book levels per side in the result, 1..64 (default 10)\n"
               "  --bar IVL     candle interval: 1s, 1m, 5m, 1h, 1d (default 1m)\n"
               "  --venue V     venue handler to use (default: from the recording's header)\n"
               "  --out FILE    where to write the result JSON (required)\n"
               "  -h, --help    this text\n"
               "  -V, --version print the version\n"
               "\n"
               "Exit codes: 0 ok, 1 the recording cannot be read or replayed, 2 usage error.\n");
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int is_version(const char *a)
{
    return strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0;
}

static void usage(FILE *o)
{
    fprintf(o,
            "usage: tickgate-replay <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve [--port P] [--tls --cert C --key K] [--speed X | --rate N | --max]\n"
            "        [--loop N] [--hold] [--fault SPEC]... FILE...\n"
            "        serve recordings as a local exchange at ws(s)://127.0.0.1:P/rec/<name>\n"
            "  books FILE [--depth N] [--bar 1m] [--venue V] --out result.json\n"
            "        rebuild books, trades and bars from a recording (offline)\n"
            "\n"
            "options:\n"
            "  -h, --help     this text\n"
            "  -V, --version  print the version\n"
            "\n"
            "`tickgate-replay <command> --help` describes a command; docs/replay.md has more.\n");
}

#ifndef TG_REPLAY_SERVE_EXE
#ifndef TG_REPLAY_SERVE_PATH
#define TG_REPLAY_SERVE_PATH "/usr/local/libexec/tickgate/tickgate-replay-serve"
#endif

/* `serve`: execute the server program with our arguments. @return 1 when it cannot run. */
static int exec_serve(char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof(path), "%s/tickgate-replay-serve", self);
            execv(path, argv); /* returns only on failure: try the installed one */
        }
    }
    execv(TG_REPLAY_SERVE_PATH, argv);
    fprintf(stderr,
            "tickgate-replay: serve: cannot run tickgate-replay-serve (next to %s, or %s): %s\n",
            n > 0 ? self : "this program", TG_REPLAY_SERVE_PATH, strerror(errno));
    return 1;
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (is_version(cmd) || strcmp(cmd, "version") == 0) {
        printf("tickgate-replay %s\n", TICKGATE_VERSION);
        return 0;
    }
    /* --help and --version anywhere after a known command answer at once (exit 0), before the
     * command parses its options (which would reject a FILE-less command line). */
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "books") == 0) {
        for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
            if (is_version(argv[i])) {
                printf("tickgate-replay %s\n", TICKGATE_VERSION);
                return 0;
            }
            if (is_help(argv[i]) && cmd[0] == 'b') {
                books_usage(stdout);
                return 0;
            }
        }
    }
    if (strcmp(cmd, "serve") == 0) {
#ifndef TG_REPLAY_SERVE_EXE
        return exec_serve(argv);
#else
        /* an unknown venue in a recording's header: exit 2 before anything is loaded (every
         * non-option argument is tried; one that is no tgrec file passes, serve reports it) */
        for (int i = 2; i < argc; i++)
            if (argv[i][0] != '-' && tool_replay_venue_check(argv[i], NULL))
                return 2;
        return tool_replay_serve_main(argc - 1, argv + 1);
#endif
    }
    if (strcmp(cmd, "books") == 0)
        return tool_replay_books_main(argc - 1, argv + 1);
    fprintf(stderr, "tickgate-replay: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
