/* SPDX-License-Identifier: MIT */
/*
 * tickgate-split: split a venue's symbol list into gateway instances and connections
 * (docs/scale.md, "Splitting a venue's symbols").
 *
 * Input: one symbol per line, optionally followed by a weight (any non-negative decimal: trades
 * or messages per second, 24 h volume; default 1); `#` starts a comment. Output: one config file
 * per instance, `DIR/NAME-i.ini`: the --base file (no [feed] sections of its own) followed by
 * the instance's identity ([gateway] name; [metrics] listen when --metrics-port is given;
 * [shm] name) and its [feed] sections, each at most the venue's published symbols per
 * connection (feeds/feed.h, max_symbols_per_conn) or --per-conn. A later key overrides an
 * earlier one in tickgate's INI, so the base's values stay unless named here.
 *
 * Balancing: longest-processing-time first. Symbols sorted by weight (heaviest first, then by
 * name, so the output is reproducible) go one by one to the instance with the least weight that
 * still has room (--max-per-instance), then within an instance to the connection with the least
 * weight that has room. The heaviest instance is within 4/3 of the best possible split (Graham's
 * bound) and in practice within a few per cent (the figures: docs/scale.md).
 *
 * Usage: tickgate-split --venue VENUE (--instances N | --max-per-instance M) [--name NAME]
 *                       [--base FILE] [--out DIR] [--per-conn K] [--metrics-port PORT]
 *                       [--url URL] [--rest-url URL] [SYMBOLS|-]
 *        tickgate-split --help | --version
 * Exit: 0 written, 2 usage or input error (nothing written).
 * Thread: main only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "book/tg_grow.h"
#include "book/tg_instr.h"
#include "feeds/feed.h"
#include "tools/common/tool_cli.h"

#define SPLIT_LINE_MAX   4096
#define SPLIT_PER_LINE   8 /* symbols per `symbols =` line (short lines for any INI reader) */
#define SPLIT_NAME_MAX   48
#define SPLIT_INST_MAX   4096
#define SPLIT_WEIGHT_MAX 1e15

typedef struct split_sym {
    char name[TG_SYMBOL_MAX];
    double weight; /* only for balancing: never a price or size */
    int line;
    uint32_t inst, conn;
} split_sym_t;

typedef struct split_bin {
    double weight;
    uint32_t n;
} split_bin_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tickgate-split --venue VENUE (--instances N | --max-per-instance M)\n"
            "                      [--name NAME] [--base FILE] [--out DIR] [--per-conn K]\n"
            "                      [--metrics-port PORT] [--url URL] [--rest-url URL]\n"
            "                      [SYMBOLS|-]\n"
            "       tickgate-split --help | --version\n"
            "\n"
            "SYMBOLS: one symbol per line, optional weight after it (default 1); '#' comments.\n"
            "Writes DIR/NAME-1.ini .. DIR/NAME-N.ini (NAME: the venue, DIR: .) and a summary.\n");
}

static int sym_cmp(const void *a, const void *b)
{
    const split_sym_t *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int name_cmp(const void *a, const void *b)
{
    const split_sym_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int sym_ok(const char *s)
{
    for (; *s; s++)
        if (*s <= ' ' || *s == ',' || *s == ';' || *s == '#' || *s == '[' || *s == ']' ||
            (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Read the symbol list. @return count, or -1 after printing every problem with its line. */
static long read_symbols(FILE *in, const char *path, split_sym_t **out)
{
    char line[SPLIT_LINE_MAX];
    size_t cap = 1024, n = 0;
    split_sym_t *v = malloc(cap * sizeof(*v));
    int bad = 0, lno = 0;
    if (!v)
        return -1;
    while (fgets(line, sizeof(line), in)) {
        lno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *sym = strtok_r(line, " \t\r\n", &save);
        if (!sym)
            continue;
        char *w = strtok_r(NULL, " \t\r\n", &save), *extra = strtok_r(NULL, " \t\r\n", &save);
        double weight = 1;
        if (strlen(sym) >= TG_SYMBOL_MAX || !sym_ok(sym)) {
            fprintf(stderr,
                    "%s:%d: bad symbol '%s' (1-%d printable characters, no blank, ',', "
                    "';', '#', '[' or ']')\n",
                    path, lno, sym, TG_SYMBOL_MAX - 1);
            bad++;
            continue;
        }
        if (w) {
            char *end;
            errno = 0;
            weight = strtod(w, &end);
            if (errno || *end || !(weight >= 0 && weight <= SPLIT_WEIGHT_MAX)) {
                fprintf(stderr, "%s:%d: bad weight '%s' for %s (a number 0..1e15)\n", path, lno, w,
                        sym);
                bad++;
                continue;
            }
        }
        if (extra) {
            fprintf(stderr, "%s:%d: unexpected '%s' after the weight\n", path, lno, extra);
            bad++;
            continue;
        }
        if (tg_grow(&v, &cap, n + 1, sizeof(*v), cap) < 0) {
            free(v);
            return -1;
        }
        snprintf(v[n].name, sizeof(v[n].name), "%s", sym);
        v[n].weight = weight;
        v[n].line = lno;
        n++;
    }
    /* duplicates: by name, every later line reported against the first */
    qsort(v, n, sizeof(*v), name_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].name, v[i - 1].name) == 0) {
            size_t first = i - 1;
            while (first > 0 && strcmp(v[first - 1].name, v[i].name) == 0)
                first--;
            fprintf(stderr, "%s:%d: %s listed again (first on line %d)\n", path, v[i].line,
                    v[i].name, v[first].line);
            bad++;
        }
    if (bad || n == 0) {
        if (!bad)
            fprintf(stderr, "%s: no symbols\n", path);
        free(v);
        return -1;
    }
    *out = v;
    return (long)n;
}

/* Least-weight bin with room (ties: the lower index). -1 if every bin is full. */
static long pick_bin(const split_bin_t *b, size_t nb, uint32_t cap)
{
    long best = -1;
    for (size_t i = 0; i < nb; i++)
        if ((!cap || b[i].n < cap) && (best < 0 || b[i].weight < b[best].weight))
            best = (long)i;
    return best;
}

/* The --base file, checked: copied verbatim unless it has [feed] sections. */
static char *read_base(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tickgate-split: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap), line[SPLIT_LINE_MAX];
    int lno = 0, bad = 0;
    while (buf && fgets(line, sizeof(line), f)) {
        lno++;
        const char *p = line + strspn(line, " \t");
        if (strncmp(p, "[feed", 5) == 0) {
            fprintf(stderr,
                    "%s:%d: the base may not have [feed] sections (tickgate-split writes "
                    "them)\n",
                    path, lno);
            bad = 1;
        }
        size_t l = strlen(line);
        if (n + l + 2 > cap) {
            char *nb = realloc(buf, cap * 2 + l);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = cap * 2 + l;
        }
        memcpy(buf + n, line, l);
        n += l;
    }
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    if (n && buf[n - 1] != '\n')
        buf[n++] = '\n';
    buf[n] = '\0';
    return buf;
}

typedef struct split_out {
    const char *dir, *name, *base, *venue, *url, *rest_url;
    int metrics_port;
} split_out_t;

static int write_instance(const split_out_t *o, uint32_t i, const split_sym_t *v, size_t n,
                          uint32_t n_conn)
{
    const char *dir = o->dir, *name = o->name, *base = o->base, *venue = o->venue;
    int metrics_port = o->metrics_port;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%u.ini", dir, name, i + 1);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "tickgate-split: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "; %s-%u: written by tickgate-split (docs/scale.md); edit the base, not this\n",
            name, i + 1);
    if (base)
        fputs(base, f);
    fprintf(f, "\n[gateway]\nname = %s-%u\n", name, i + 1);
    if (metrics_port)
        fprintf(f, "\n[metrics]\nlisten = 127.0.0.1:%d\n", metrics_port + (int)i);
    fprintf(f, "\n[shm]\nname = /tickgate-%s-%u\n", name, i + 1);
    for (uint32_t c = 0; c < n_conn; c++) {
        fprintf(f, "\n[feed %s-%u-%u]\nvenue = %s\n", name, i + 1, c + 1, venue);
        if (o->url)
            fprintf(f, "url = %s\n", o->url);
        if (o->rest_url)
            fprintf(f, "rest_url = %s\n", o->rest_url);
        unsigned on_line = 0;
        for (size_t k = 0; k < n; k++) {
            if (v[k].inst != i || v[k].conn != c)
                continue;
            fprintf(f, "%s%s", on_line == 0 ? "symbols = " : ", ", v[k].name);
            if (++on_line == SPLIT_PER_LINE) {
                fputc('\n', f);
                on_line = 0;
            }
        }
        if (on_line)
            fputc('\n', f);
    }
    if (fclose(f)) {
        fprintf(stderr, "tickgate-split: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* s as a number 1..max; what: the long option's name (without "--"). */
static long parse_pos(const char *s, long max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > max) {
        fprintf(stderr, "tickgate-split: --%s must be 1..%ld, not '%s'\n", what, max, s);
        return -1;
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *venue_id = NULL, *name = NULL, *base_path = NULL, *dir = ".", *url = NULL,
               *rest_url = NULL;
    long instances = 0, max_per = 0, per_conn = 0, metrics_port = 0;
    static const struct option opts[] = {
        {"venue", required_argument, NULL, 'v'},
        {"instances", required_argument, NULL, 'n'},
        {"max-per-instance", required_argument, NULL, 'm'},
        {"name", required_argument, NULL, 'N'},
        {"base", required_argument, NULL, 'b'},
        {"out", required_argument, NULL, 'o'},
        {"per-conn", required_argument, NULL, 'k'},
        {"metrics-port", required_argument, NULL, 'p'},
        {"url", required_argument, NULL, 'u'},
        {"rest-url", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* where each option goes: a text, or a number 1..max (opts[i] is args[i]'s option) */
    const struct {
        const char **text;
        long *num, max;
    } args[] = {
        {.text = &venue_id},
        {.num = &instances, .max = SPLIT_INST_MAX},
        {.num = &max_per, .max = 100000000},
        {.text = &name},
        {.text = &base_path},
        {.text = &dir},
        {.num = &per_conn, .max = 100000},
        {.num = &metrics_port, .max = 65535},
        {.text = &url},
        {.text = &rest_url},
    };
    _Static_assert(sizeof(args) / sizeof(args[0]) == sizeof(opts) / sizeof(opts[0]) - 3,
                   "one args[] row per option before --help, --version and the end");
    int ch, at;
    while ((ch = getopt_long(argc, argv, "hV", opts, &at)) != -1) {
        if (ch == '?' || ch == 'h' || ch == 'V')
            return tool_cli_other(ch, "tickgate-split", TICKGATE_VERSION, usage);
        if (args[at].text) {
            *args[at].text = optarg;
        } else if ((*args[at].num = parse_pos(optarg, args[at].max, opts[at].name)) < 0) {
            return 2;
        }
    }
    if (!venue_id || (!instances && !max_per) || argc - optind > 1) {
        usage(stderr);
        return 2;
    }
    const feed_venue_t *venue = feed_venue_find(venue_id);
    if (!venue) {
        char list[2048];
        fprintf(stderr, "tickgate-split: unknown venue '%s' (this build has: %s)\n", venue_id,
                feed_venue_list(list, sizeof(list)));
        return 2;
    }
    if (!name)
        name = venue_id;
    if (strlen(name) > SPLIT_NAME_MAX || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                      "qrstuvwxyz0123456789_.-") != strlen(name)) {
        fprintf(stderr, "tickgate-split: --name must be 1-%d of [A-Za-z0-9_.-]\n", SPLIT_NAME_MAX);
        return 2;
    }
    uint32_t limit = venue->max_symbols_per_conn;
    if (per_conn && limit && (uint32_t)per_conn > limit) {
        fprintf(stderr,
                "tickgate-split: --per-conn %ld is more than %s allows on one connection (%u)\n",
                per_conn, venue->name, limit);
        return 2;
    }
    uint32_t conn_cap = per_conn ? (uint32_t)per_conn : limit; /* 0: no limit */

    const char *in_path = optind < argc ? argv[optind] : "-";
    FILE *in = strcmp(in_path, "-") == 0 ? stdin : fopen(in_path, "r");
    if (!in) {
        fprintf(stderr, "tickgate-split: %s: %s\n", in_path, strerror(errno));
        return 2;
    }
    split_sym_t *v = NULL;
    long nl = read_symbols(in, strcmp(in_path, "-") == 0 ? "(stdin)" : in_path, &v);
    if (in != stdin)
        fclose(in);
    if (nl < 0)
        return 2;
    size_t n = (size_t)nl;
    if (!instances)
        instances = (long)((n + (size_t)max_per - 1) / (size_t)max_per);
    if (instances > SPLIT_INST_MAX || (size_t)instances > n) {
        fprintf(stderr,
                "tickgate-split: %ld instances for %zu symbols: at most one per symbol "
                "and %d in all\n",
                instances, n, SPLIT_INST_MAX);
        free(v);
        return 2;
    }
    if (max_per && (size_t)max_per * (size_t)instances < n) {
        fprintf(stderr, "tickgate-split: %zu symbols do not fit %ld instances of %ld\n", n,
                instances, max_per);
        free(v);
        return 2;
    }
    char *base = NULL;
    if (base_path && !(base = read_base(base_path))) {
        free(v);
        return 2;
    }

    /* instances, then connections within each: heaviest symbol first into the lightest bin */
    qsort(v, n, sizeof(*v), sym_cmp);
    split_bin_t *ib = calloc((size_t)instances, sizeof(*ib));
    uint32_t *n_conn = calloc((size_t)instances, sizeof(*n_conn));
    int rc = ib && n_conn ? 0 : 2;
    for (size_t k = 0; k < n && !rc; k++) {
        long b = pick_bin(ib, (size_t)instances, (uint32_t)max_per);
        v[k].inst = (uint32_t)b; /* b >= 0: the capacity was checked above */
        ib[b].weight += v[k].weight;
        ib[b].n++;
    }
    double total = 0, heaviest = 0;
    for (long i = 0; i < instances && !rc; i++) {
        n_conn[i] = conn_cap ? (ib[i].n + conn_cap - 1) / conn_cap : 1;
        split_bin_t *cb = calloc(n_conn[i], sizeof(*cb));
        if (!cb) {
            rc = 2;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            if (v[k].inst != (uint32_t)i)
                continue;
            long c = pick_bin(cb, n_conn[i], conn_cap);
            v[k].conn = (uint32_t)c;
            cb[c].weight += v[k].weight;
            cb[c].n++;
        }
        free(cb);
        total += ib[i].weight;
        if (ib[i].weight > heaviest)
            heaviest = ib[i].weight;
    }
    /* written in name order inside each feed: a diff between two runs shows moves only */
    if (!rc)
        qsort(v, n, sizeof(*v), name_cmp);
    if (!rc && mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "tickgate-split: %s: %s\n", dir, strerror(errno));
        rc = 2;
    }
    split_out_t o = {dir, name, base, venue->name, url, rest_url, (int)metrics_port};
    for (long i = 0; i < instances && !rc; i++)
        if (write_instance(&o, (uint32_t)i, v, n, n_conn[i]))
            rc = 2;
    if (!rc) {
        char cap_txt[32] = "no limit";
        if (conn_cap)
            snprintf(cap_txt, sizeof(cap_txt), "at most %u", conn_cap);
        printf("%s: %zu symbols into %ld instance(s), %s per connection\n", venue->name, n,
               instances, cap_txt);
        printf("%-24s %8s %6s %14s %7s\n", "instance", "symbols", "conns", "weight", "share");
        for (long i = 0; i < instances; i++) {
            char file[64 + SPLIT_NAME_MAX];
            snprintf(file, sizeof(file), "%s-%ld.ini", name, i + 1);
            printf("%-24s %8u %6u %14.6g %6.2f%%\n", file, ib[i].n, n_conn[i], ib[i].weight,
                   total > 0 ? 100.0 * ib[i].weight / total : 100.0 / (double)instances);
        }
        printf("heaviest / mean weight: %.4f\n",
               total > 0 ? heaviest / (total / (double)instances) : 1.0);
    }
    free(n_conn);
    free(ib);
    free(base);
    free(v);
    return rc;
}
