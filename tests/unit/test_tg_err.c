/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of tg_strerror() (book/tg_err.h): every project code has its own text, negative
 * errno values map to the C library's text, codes stay clear of the errno range, and unknown
 * codes never return NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "book/tg_err.h"
#include "tests/fixtures/tu_main.h"

static const int project_codes[] = {
    TG_EDEC_SYNTAX, TG_EDEC_RANGE, TG_EDEC_PRECISION, TG_EDEC_NEGATIVE, TG_EJSON,    TG_EFIELD,
    TG_ESYMBOL,     TG_EFULL,      TG_EGAP,           TG_ECHECKSUM,     TG_ECROSSED, TG_ECONFIG,
    TG_EPG,         TG_EREDIS,     TG_ESPILL,         TG_EPROTO,
};
#define N_CODES (sizeof(project_codes) / sizeof(project_codes[0]))

static void test_every_project_code_has_distinct_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *t = tg_strerror(project_codes[i]);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown error");
        assert_true(project_codes[i] <= -4000); /* never collides with -errno */
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(project_codes[i], project_codes[j]);
            assert_string_not_equal(t, tg_strerror(project_codes[j]));
        }
    }
}

static void test_negative_errno_maps_to_libc_text(void **state)
{
    (void)state;
    const int errs[] = {EINVAL, ENOMEM, EAGAIN, ENOSPC, ECONNREFUSED};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        assert_string_equal(tg_strerror(-errs[i]), strerror(errs[i]));
}

static void test_success_and_unknown_codes_have_text(void **state)
{
    (void)state;
    assert_string_equal(tg_strerror(0), "success");
    assert_string_equal(tg_strerror(-4999), "unknown error");
    assert_string_equal(tg_strerror(-4005), "unknown error");
    assert_string_equal(tg_strerror(12), "unknown error");
    assert_non_null(tg_strerror(-3999));
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_every_project_code_has_distinct_text),
        cmocka_unit_test(test_negative_errno_maps_to_libc_text),
        cmocka_unit_test(test_success_and_unknown_codes_have_text))
