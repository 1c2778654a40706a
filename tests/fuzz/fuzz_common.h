/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness support (tests/fuzz, docs/RELIABILITY.md "Fuzzing"). Every harness defines
 * LLVMFuzzerTestOneInput (and optionally LLVMFuzzerInitialize); it is linked either with
 * libFuzzer (clang, -Dfuzz=true: the fuzzer) or with fuzz_main.c (any compiler: a regression
 * runner that feeds every committed corpus and crash file through the same entry point, run by
 * the unit suite under ASan/UBSan).
 *
 * A property a harness checks is FZ_CHECK(cond, ...): on failure it prints the message and
 * aborts, which both libFuzzer and the regression runner report as a crash.
 * Thread: one (harnesses are single-threaded).
 */
#ifndef TEST_FUZZ_COMMON_H
#define TEST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Harnesses that take a parameter per corpus subdirectory (the venue id) define this; the
 *  regression runner calls it with the name of each subdirectory before its files. Returns 0,
 *  or -1 when the name is not one the harness knows (the runner then fails). */
int fz_subdir(const char *name);

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/** The symbols a venue harness registers for `venue` (comma list; TG_FUZZ_SYMBOLS overrides):
 *  the symbols of the venue's recordings, so that seeded frames name known instruments.
 *  NULL for an unknown id. */
const char *fz_venue_symbols(const char *venue);

/** A file descriptor holding exactly these bytes (memfd), for parsers that take a path
 *  (/proc/self/fd/N). Returns the fd (close it), or -1. */
int fz_memfd(const char *name, const void *data, size_t size);

#endif
