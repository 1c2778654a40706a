/* SPDX-License-Identifier: MIT */
/*
 * tg_worker (book/tg_worker.h): the uniform start/stop codes, the thread name, the stop flag
 * and its wake-ups (waiter and hook), the owner hand-over, and (debug builds) the owner
 * assertions, which must abort: checked in forked children.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "book/tg_clock.h"
#include "book/tg_ring.h"
#include "book/tg_worker.h"

typedef struct body {
    tg_worker_t wk;
    tg_waiter_t waiter;
    char name_inside[32];
    bool owner_inside;    /* the body owned the state while it ran */
    int seen_before_stop; /* ctl's write before stop, as the body read it after the flag */
    int value;            /* written by ctl before stop */
    _Atomic int runs;
    _Atomic int wakes;
    _Atomic int entered;
} body_t;

/* Sleeps on the waiter (no timeout) until stop: only stop's wake can end the wait. */
static void body_main(void *arg)
{
    body_t *b = arg;
    pthread_getname_np(pthread_self(), b->name_inside, sizeof(b->name_inside));
    b->owner_inside = tg_owner_is_me(&b->wk.owner);
    atomic_fetch_add_explicit(&b->runs, 1, memory_order_relaxed);
    atomic_store_explicit(&b->entered, 1, memory_order_release);
    while (!tg_worker_stopping(&b->wk)) {
        tg_waiter_prepare(&b->waiter);
        if (tg_worker_stopping(&b->wk)) {
            tg_waiter_cancel(&b->waiter);
            break;
        }
        tg_waiter_wait(&b->waiter, 30 * TG_NS_PER_SEC);
    }
    b->seen_before_stop = b->value;
}

static void body_wake(void *arg)
{
    body_t *b = arg;
    atomic_fetch_add_explicit(&b->wakes, 1, memory_order_relaxed);
}

static void body_init(body_t *b, const char *name)
{
    memset(b, 0, sizeof(*b));
    tg_waiter_init(&b->waiter);
    tg_worker_cfg_t c = {
        .name = name, .main = body_main, .arg = b, .waiter = &b->waiter, .wake = body_wake};
    assert_int_equal(tg_worker_init(&b->wk, &c), 0);
}

static void wait_entered(body_t *b)
{
    while (!atomic_load_explicit(&b->entered, memory_order_acquire))
        usleep(1000);
}

static void test_worker_start_and_stop_codes_are_uniform(void **state)
{
    (void)state;
    body_t b;
    body_init(&b, "writer:pg");
    assert_false(tg_worker_running(&b.wk));
    assert_int_equal(tg_worker_stop(&b.wk), 0); /* never started: 0 */
    assert_int_equal(tg_worker_start(&b.wk), 0);
    assert_true(tg_worker_running(&b.wk));
    assert_int_equal(tg_worker_start(&b.wk), -EALREADY); /* double start */
    assert_int_equal(tg_worker_stop(&b.wk), 0);
    assert_false(tg_worker_running(&b.wk));
    assert_int_equal(tg_worker_stop(&b.wk), 0); /* already stopped: 0 */
    /* a stopped worker starts again, with the flag cleared */
    assert_int_equal(tg_worker_start(&b.wk), 0);
    wait_entered(&b);
    assert_int_equal(tg_worker_stop(&b.wk), 0);
    assert_int_equal(atomic_load(&b.runs), 2);
    assert_int_equal(atomic_load(&b.wakes), 2); /* the hook ran once per effective stop */
}

static void test_worker_init_rejects_bad_names_and_no_body(void **state)
{
    (void)state;
    tg_worker_t w;
    tg_worker_cfg_t c = {.name = "a-name-of-16-byt", .main = body_main};
    assert_int_equal(tg_worker_init(&w, &c), -EINVAL); /* 16 bytes: too long for Linux */
    c.name = "";
    assert_int_equal(tg_worker_init(&w, &c), -EINVAL);
    c.name = NULL;
    assert_int_equal(tg_worker_init(&w, &c), -EINVAL);
    c.name = "feed:abcdefghij"; /* 15 bytes: the longest */
    c.main = NULL;
    assert_int_equal(tg_worker_init(&w, &c), -EINVAL);
    c.main = body_main;
    assert_int_equal(tg_worker_init(&w, &c), 0);
}

static void test_worker_thread_is_named_inside_and_outside(void **state)
{
    (void)state;
    static const char *names[] = {"book",   "writer:pg", "writer:redis",
                                  "feed:0", "metrics",   "feed:abcdefghij"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        body_t b;
        body_init(&b, names[i]);
        assert_int_equal(tg_worker_start(&b.wk), 0);
        char out[32] = {0};
        /* visible to other threads as soon as start returned */
        assert_int_equal(pthread_getname_np(b.wk.thread, out, sizeof(out)), 0);
        assert_string_equal(out, names[i]);
        wait_entered(&b);
        assert_int_equal(tg_worker_stop(&b.wk), 0);
        assert_string_equal(b.name_inside, names[i]);
    }
}

static void test_worker_stop_wakes_a_sleeping_body_and_publishes_writes(void **state)
{
    (void)state;
    body_t b;
    body_init(&b, "book");
    assert_int_equal(tg_worker_start(&b.wk), 0);
    wait_entered(&b);
    usleep(20000); /* let it go to sleep on the waiter (30 s timeout) */
    b.value = 42;  /* ordered before the body's read by WK_R1 -> WK_A1 */
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(tg_worker_stop(&b.wk), 0);
    int64_t dt = tg_clock_mono_ns() - t0;
    /* woken by stop, not by the 30 s timeout (the bound is loose on purpose: shared VM) */
    assert_true(dt < 10 * TG_NS_PER_SEC);
    assert_int_equal(b.seen_before_stop, 42);
}

static void test_worker_owner_moves_to_the_thread_and_back(void **state)
{
    (void)state;
    body_t b;
    body_init(&b, "metrics");
    assert_true(tg_owner_is_me(&b.wk.owner)); /* the creator owns it before start */
    assert_true(tg_owner_is_me(&b.wk.ctl));
    assert_int_equal(tg_worker_start(&b.wk), 0);
    wait_entered(&b);
    assert_false(tg_owner_is_me(&b.wk.owner)); /* the worker thread owns it while it runs */
    assert_int_equal(tg_worker_stop(&b.wk), 0);
    assert_true(b.owner_inside);
    assert_true(tg_owner_is_me(&b.wk.owner)); /* and the stopper after the join */
}

#if !defined(NDEBUG) && !defined(__SANITIZE_THREAD__)
/* Runs fn in a forked child; @return the signal that ended it (0 if it exited). */
static int in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static body_t g_child;

static void child_mutates_while_worker_owns(void)
{
    body_init(&g_child, "book");
    if (tg_worker_start(&g_child.wk))
        _exit(3);
    wait_entered(&g_child);
    TG_ASSERT_OWNER(&g_child.wk); /* main is not the owner now: must abort */
    tg_worker_stop(&g_child.wk);
}

static void child_mutates_as_owner(void)
{
    body_init(&g_child, "book");
    TG_ASSERT_OWNER(&g_child.wk); /* the creator owns it: must pass */
    if (tg_worker_start(&g_child.wk))
        _exit(3);
    tg_worker_stop(&g_child.wk);
    TG_ASSERT_OWNER(&g_child.wk); /* owner again after stop */
}

static void *start_from_other_thread(void *arg)
{
    tg_worker_start(arg); /* not the control thread: must abort */
    return NULL;
}

static void child_starts_off_the_control_thread(void)
{
    body_init(&g_child, "book");
    pthread_t t;
    pthread_create(&t, NULL, start_from_other_thread, &g_child.wk);
    pthread_join(t, NULL);
    tg_worker_stop(&g_child.wk);
}

static void self_stop_main(void *arg)
{
    tg_worker_stop(arg); /* the body stopping itself: must abort, not deadlock */
}

static void child_stops_from_its_own_thread(void)
{
    tg_worker_t w;
    tg_worker_cfg_t c = {.name = "book", .main = self_stop_main, .arg = &w};
    tg_worker_init(&w, &c);
    tg_worker_start(&w);
    sleep(5); /* the abort ends the process well before */
}

static void child_checks_a_null_argument(void)
{
    tg_worker_start(NULL); /* TG_CHECK_ARG: aborts in debug builds */
}

static void test_worker_owner_assertions_abort_in_debug_builds(void **state)
{
    (void)state;
    assert_int_equal(in_child(child_mutates_as_owner), 0);
    assert_int_equal(in_child(child_mutates_while_worker_owns), SIGABRT);
    assert_int_equal(in_child(child_starts_off_the_control_thread), SIGABRT);
    assert_int_equal(in_child(child_stops_from_its_own_thread), SIGABRT);
    assert_int_equal(in_child(child_checks_a_null_argument), SIGABRT);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_start_and_stop_codes_are_uniform),
        cmocka_unit_test(test_worker_init_rejects_bad_names_and_no_body),
        cmocka_unit_test(test_worker_thread_is_named_inside_and_outside),
        cmocka_unit_test(test_worker_stop_wakes_a_sleeping_body_and_publishes_writes),
        cmocka_unit_test(test_worker_owner_moves_to_the_thread_and_back),
#if !defined(NDEBUG) && !defined(__SANITIZE_THREAD__)
        cmocka_unit_test(test_worker_owner_assertions_abort_in_debug_builds),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
