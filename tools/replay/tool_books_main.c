/* SPDX-License-Identifier: MIT */
/*
 * tickgate-books: stand-alone front end of `tickgate-replay books` (tool_replay_books.c) until
 * the tickgate-replay main carries the subcommand. Usage: tickgate-books FILE [--depth N]
 * [--bar 1m] [--venue V] --out result.json
 */
#include "tool_replay_books.h"

int main(int argc, char **argv)
{
    return tool_replay_books_main(argc, argv);
}
