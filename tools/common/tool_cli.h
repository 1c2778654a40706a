/* SPDX-License-Identifier: MIT */
/*
 * Command-line conventions shared by the tools (tickgate-sub, tickgate-split): -V/--version,
 * -h/--help and the answer to an unknown option, with the gateway's exit codes (0 ok, 2 usage).
 * Header-only.  Thread: main.
 */
#ifndef TOOL_CLI_H
#define TOOL_CLI_H

#include <stdio.h>

/** The options a tool's getopt switch does not handle itself: 'V' prints "name version",
 *  'h' the usage on stdout; anything else (an unknown option) the usage on stderr.
 *  @return the exit code for main: 0 after 'V' or 'h', 2 otherwise. */
static inline int tool_cli_other(int ch, const char *name, const char *version,
                                 void (*usage)(FILE *))
{
    if (ch == 'V') {
        printf("%s %s\n", name, version);
        return 0;
    }
    if (ch == 'h') {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}

#endif
