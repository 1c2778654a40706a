/* SPDX-License-Identifier: MIT */
/*
 * Benchmark and test helper (in tools/bench, so that benchmarks need no test fixture): count
 * the calling thread's heap allocations (malloc, calloc, realloc, posix_memalign...), to show
 * that a hot path allocates nothing per message.
 *
 * Under ASan/TSan the sanitizer's own allocator is hooked (__sanitizer_install_malloc_and_free_
 * hooks: every allocation, from any library, is seen); otherwise this header defines malloc,
 * calloc and realloc for the executable (interposing them for every shared library too) and
 * forwards to glibc's __libc_* functions. Include it in ONE file of a test program.
 * Counters are thread-local: test_malloc_count() is the calling thread's total.
 * Thread: any (each thread its own counter).
 */
#ifndef TOOLS_BENCH_MALLOC_COUNT_H
#define TOOLS_BENCH_MALLOC_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static _Thread_local uint64_t test_malloc_n;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* from <sanitizer/allocator_interface.h> (not installed with gcc on every distribution) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static void test_malloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    test_malloc_n++;
}
static void test_free_hook(const volatile void *p)
{
    (void)p;
}
__attribute__((constructor)) static void test_malloc_install(void)
{
    __sanitizer_install_malloc_and_free_hooks(test_malloc_hook, test_free_hook);
}
#else
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t s);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t s);
void *realloc(void *p, size_t n);
void *malloc(size_t n)
{
    test_malloc_n++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t s)
{
    test_malloc_n++;
    return __libc_calloc(n, s);
}
void *realloc(void *p, size_t n)
{
    test_malloc_n++;
    return __libc_realloc(p, n);
}
#endif

/** Allocations made by the calling thread so far. */
static inline uint64_t test_malloc_count(void)
{
    return test_malloc_n;
}

/** True: counting works in this build (always, with either method). */
static inline bool test_malloc_counting(void)
{
    return true;
}

#endif
