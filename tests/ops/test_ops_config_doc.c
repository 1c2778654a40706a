/* SPDX-License-Identifier: MIT */
/*
 * docs/config.md against the parser's key tables: every key of the gateway's sections
 * (gw_cfg_keys) and of every sink (tg_sink_ops_t.keys) is documented in its section with its
 * default (and, for numbers, its range and type), and no documented key is unknown to the
 * parser. The defaults the tables give are also the ones gw_cfg_defaults() applies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/tg_cfgkey.h"
#include "gateway/gw_config.h"
#include "storage/sink.h"
#include "tests/fixtures/tu_main.h"

#define ROWS_MAX 256

typedef struct doc_row {
    char section[32]; /* "gateway", "feed", "postgres"... */
    char key[64];
    char type[64];
    char def[256];
    char range[128];
    int line;
    int seen; /* matched by a table row */
} doc_row_t;

static doc_row_t rows[ROWS_MAX];
static size_t n_rows;
static char doc_path[1024];

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] == ' ')
        i++;
    memmove(s, s + i, n - i + 1);
}

/* Split "| a | b | c |" into cells; @return the number of cells. */
static int cells(char *line, char **out, int max)
{
    int n = 0;
    char *p = strchr(line, '|');
    while (p && n < max) {
        char *q = strchr(p + 1, '|');
        if (!q)
            break;
        *q = 0;
        out[n] = p + 1;
        trim(out[n]);
        n++;
        p = q;
    }
    return n;
}

static int load_doc(void **state)
{
    (void)state;
    const char *root = getenv("TG_SOURCE_ROOT");
    snprintf(doc_path, sizeof(doc_path), "%s/docs/config.md", root ? root : ".");
    FILE *f = fopen(doc_path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", doc_path);
        return -1;
    }
    char buf[2048], section[32] = "";
    int line = 0;
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        if (!strncmp(buf, "## [", 4)) {
            size_t n = strcspn(buf + 4, " ]");
            snprintf(section, sizeof(section), "%.*s", (int)n, buf + 4);
            continue;
        }
        if (!strncmp(buf, "## ", 3) || !strncmp(buf, "# ", 2)) {
            section[0] = 0;
            continue;
        }
        if (!section[0] || strncmp(buf, "| `", 3) != 0)
            continue;
        char *c[8];
        if (cells(buf, c, 8) < 5 || n_rows == ROWS_MAX)
            continue;
        doc_row_t *r = &rows[n_rows++];
        snprintf(r->section, sizeof(r->section), "%s", section);
        size_t kl = strlen(c[0]);
        snprintf(r->key, sizeof(r->key), "%.*s", (int)(kl >= 2 ? kl - 2 : 0), c[0] + 1);
        snprintf(r->type, sizeof(r->type), "%s", c[1]);
        snprintf(r->def, sizeof(r->def), "%s", c[2]);
        snprintf(r->range, sizeof(r->range), "%s", c[3]);
        r->line = line;
    }
    fclose(f);
    return n_rows ? 0 : -1;
}

static doc_row_t *doc_find(const char *section, const char *key)
{
    for (size_t i = 0; i < n_rows; i++)
        if (!strcmp(rows[i].section, section) && !strcmp(rows[i].key, key))
            return &rows[i];
    return NULL;
}

/* The word the documentation's type column uses for t. */
static const char *type_word(tg_cfgkey_type_t t)
{
    static const char *const words[] = {
        [TG_CFG_BOOL] = "bool",   [TG_CFG_U32] = "integer", [TG_CFG_MB] = "MiB",
        [TG_CFG_SEC] = "seconds", [TG_CFG_STR] = "string",
    };
    return (size_t)t < sizeof(words) / sizeof(words[0]) && words[t] ? words[t] : "?";
}

/* Compare one table with the doc; @return the number of disagreements (each printed). */
static int check_table(const char *section, const tg_cfgkey_t *keys, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const tg_cfgkey_t *k = &keys[i];
        doc_row_t *r = doc_find(section, k->key);
        if (!r) {
            fprintf(stderr, "%s: [%s] %s is not documented (default %s)\n", doc_path, section,
                    k->key, k->def ? k->def : "none");
            bad++;
            continue;
        }
        r->seen = 1;
        char want[300];
        if (!k->def)
            snprintf(want, sizeof(want), "—");
        else if (!k->def[0])
            snprintf(want, sizeof(want), "(empty)");
        else
            snprintf(want, sizeof(want), "`%s`", k->def);
        if (strcmp(r->def, want) != 0) {
            fprintf(stderr, "%s:%d: [%s] %s default is %s, the parser's is %s\n", doc_path, r->line,
                    section, k->key, r->def, want);
            bad++;
        }
        bool custom = k->off == SIZE_MAX; /* parsed by the gateway itself */
        if (!custom && strcmp(r->type, type_word(k->type)) != 0) {
            fprintf(stderr, "%s:%d: [%s] %s type is '%s', the parser's is %s\n", doc_path, r->line,
                    section, k->key, r->type, type_word(k->type));
            bad++;
        }
        if (k->type == TG_CFG_U32 || k->type == TG_CFG_MB || k->type == TG_CFG_SEC) {
            char rg[64];
            int len = snprintf(rg, sizeof(rg), "%llu..%llu", (unsigned long long)k->min,
                               (unsigned long long)k->max);
            if (strncmp(r->range, rg, (size_t)len) != 0 ||
                (r->range[len] >= '0' && r->range[len] <= '9')) {
                fprintf(stderr, "%s:%d: [%s] %s range is '%s', the parser's is %s\n", doc_path,
                        r->line, section, k->key, r->range, rg);
                bad++;
            }
        }
    }
    return bad;
}

static void test_every_key_is_documented_with_its_default(void **state)
{
    (void)state;
    int bad = 0;
    static const char *own[] = {"gateway", "record", "metrics", "feed"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        size_t n;
        const tg_cfgkey_t *k = gw_cfg_keys(own[i], &n);
        assert_non_null(k);
        assert_true(n > 0);
        bad += check_table(own[i], k, n);
    }
    size_t sinks = 0;
    for (size_t i = 0; tg_sink_at(i); i++, sinks++) {
        const tg_sink_ops_t *o = tg_sink_at(i);
        if (!o->keys)
            fprintf(stderr, "sink %s has no key table\n", o->name);
        assert_non_null(o->keys);
        bad += check_table(o->name, o->keys, o->n_keys);
    }
    assert_true(sinks >= 2);
    assert_int_equal(bad, 0);
}

static void test_no_documented_key_is_unknown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_rows; i++)
        rows[i].seen = 0;
    /* mark what the tables know (quietly) */
    static const char *own[] = {"gateway", "record", "metrics", "feed"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        size_t n;
        const tg_cfgkey_t *k = gw_cfg_keys(own[i], &n);
        for (size_t j = 0; j < n; j++) {
            doc_row_t *r = doc_find(own[i], k[j].key);
            if (r)
                r->seen = 1;
        }
    }
    for (size_t i = 0; tg_sink_at(i); i++)
        for (size_t j = 0; j < tg_sink_at(i)->n_keys; j++) {
            doc_row_t *r = doc_find(tg_sink_at(i)->name, tg_sink_at(i)->keys[j].key);
            if (r)
                r->seen = 1;
        }
    int bad = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (!rows[i].seen) {
            fprintf(stderr, "%s:%d: [%s] %s is documented but the parser does not know it\n",
                    doc_path, rows[i].line, rows[i].section, rows[i].key);
            bad++;
        }
    assert_int_equal(bad, 0);
}

/* The tables' defaults are what a config without the key gets (one spot check per kind). */
static void test_table_defaults_are_applied(void **state)
{
    (void)state;
    gw_cfg_t *c = malloc(sizeof(*c));
    assert_non_null(c);
    gw_cfg_defaults(c);
    assert_int_equal(c->n_errors, 0);
    size_t n;
    const tg_cfgkey_t *k = gw_cfg_keys("gateway", &n);
    char v[64];
    assert_int_equal(tg_cfgkey_get(k, n, c, "book_depth", v, sizeof(v)), 0);
    assert_string_equal(v, tg_cfgkey_find(k, n, "book_depth")->def);
    assert_int_equal(c->feed_ring, (uint32_t)atoi(tg_cfgkey_find(k, n, "feed_ring")->def));
    assert_int_equal(c->log_level, 2); /* "info" */
    assert_int_equal(c->n_intervals, 1);
    k = gw_cfg_keys("metrics", &n);
    char listen[96];
    snprintf(listen, sizeof(listen), "%s:%d", c->metrics_host, c->metrics_port);
    assert_string_equal(listen, tg_cfgkey_find(k, n, "listen")->def);
    k = gw_cfg_keys("record", &n);
    assert_string_equal(c->rec_dir, tg_cfgkey_find(k, n, "dir")->def);
    assert_null(gw_cfg_keys("nosuch", &n));
    assert_int_equal(n, 0);
    gw_cfg_free(c);
    free(c);
}

TU_MAIN(load_doc, NULL, cmocka_unit_test(test_every_key_is_documented_with_its_default),
        cmocka_unit_test(test_no_documented_key_is_unknown),
        cmocka_unit_test(test_table_defaults_are_applied))
