/* SPDX-License-Identifier: MIT */
/*
 * tickgate: the gateway daemon's entry point. Parses the command line, loads the config,
 * builds the pipeline, runs until SIGINT/SIGTERM, then stops it in order so that every event
 * already received reaches PostgreSQL (or the spill journal) and Redis.
 *
 * Exit codes: 0 clean stop; 1 runtime failure or data that could not be stored at stop;
 * 2 usage or configuration error; 3 start-up failure (server unreachable, port in use...);
 * 4 stopped by a second signal without flushing.
 * Thread: main.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "feeds/feed.h"
#include "gw_config.h"
#include "gw_log.h"
#include "gw_notify.h"
#include "gw_pipeline.h"

#ifndef TICKGATE_VERSION
#define TICKGATE_VERSION "0.1.0"
#endif

static void usage(FILE *o)
{
    fprintf(o, "usage: tickgate --config FILE [--check-config]\n"
               "       tickgate --list-venues | --version | --help\n"
               "\n"
               "  -c, --config FILE   INI configuration (see tickgate.example.ini)\n"
               "      --check-config  validate the configuration, print every problem, and exit\n"
               "      --list-venues   print the venues this build has handlers for\n"
               "  -V, --version       print the version\n"
               "  -h, --help          this text\n"
               "\n"
               "Signals: SIGINT/SIGTERM stop after flushing every received event to PostgreSQL\n"
               "(or the spill journal) and Redis; a second signal exits at once.\n"
               "Exit codes: 0 ok, 1 runtime failure, 2 usage/config error, 3 start-up failure,\n"
               "4 stopped by a second signal without flushing.\n");
}

static void hard_exit(int sig)
{
    static const char msg[] = "tickgate: second signal, exiting without flushing\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(4);
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int check = 0;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'k'},
        {"list-venues", no_argument, NULL, 'l'},  {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'l':
            for (size_t i = 0; feed_venue_at(i); i++)
                printf("%s\n", feed_venue_at(i)->name);
            return 0;
        case 'V':
            printf("tickgate %s\n", TICKGATE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tickgate: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (!config) {
        fprintf(stderr, "tickgate: %s\n",
                check ? "--check-config needs the file to check: tickgate --check-config "
                        "--config FILE"
                      : "no configuration: tickgate --config FILE (an example is "
                        "tickgate.example.ini; docs/config.md lists every key)");
        return 2;
    }
    gw_cfg_t cfg;
    int rc = gw_cfg_load(&cfg, config);
    if (rc == TG_ECONFIG) {
        for (uint32_t i = 0; i < cfg.n_errors; i++)
            fprintf(stderr, "%s\n", cfg.errors[i]);
        fprintf(stderr, "tickgate: %u problem%s in %s\n", cfg.n_errors,
                cfg.n_errors == 1 ? "" : "s", config);
        gw_cfg_free(&cfg);
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "tickgate: cannot read %s: %s\n", config, tg_strerror(rc));
        gw_cfg_free(&cfg);
        return 2;
    }
    if (check) {
        uint32_t syms = 0;
        for (uint32_t i = 0; i < cfg.n_feeds; i++)
            syms += cfg.feeds[i].n_symbols;
        printf("%s: ok (%u feeds, %u symbols)\n", config, cfg.n_feeds, syms);
        gw_cfg_free(&cfg);
        return 0;
    }
    gw_log_set_level(cfg.log_level);
    gw_log_set_instance(cfg.name);

    /* Every thread inherits this mask: only main handles SIGINT/SIGTERM (sigtimedwait). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    gw_pipeline_t *p;
    if ((rc = gw_pipeline_create(&p, &cfg)) < 0) {
        gw_log(GW_LOG_ERROR, NULL, "start-up failed: %s", tg_strerror(rc));
        gw_cfg_free(&cfg);
        return rc == TG_ECONFIG ? 2 : 3;
    }
    if ((rc = gw_pipeline_start(p)) < 0) {
        gw_log(GW_LOG_ERROR, NULL, "start-up failed: %s", tg_strerror(rc));
        gw_pipeline_destroy(&p);
        gw_cfg_free(&cfg);
        return 3;
    }
    gw_log(GW_LOG_INFO, NULL, "tickgate %s running: %u feeds", TICKGATE_VERSION, cfg.n_feeds);
    /* systemd (Type=notify): ready once the pipeline runs; the watchdog is fed from this
     * loop, every second (WatchdogSec= must be longer). No-ops outside systemd. */
    char st[96];
    snprintf(st, sizeof(st), "READY=1\nSTATUS=running: %u feeds", cfg.n_feeds);
    gw_notify(st);
    bool watchdog = gw_notify_watchdog_usec() > 0;
    int sig = 0;
    int ticks = 0;
    while (!sig) {
        struct timespec to = {1, 0};
        int s = sigtimedwait(&set, NULL, &to);
        if (s > 0) {
            sig = s;
            break;
        }
        if (watchdog)
            gw_notify("WATCHDOG=1");
        if (++ticks % 10 == 0 && gw_log_get_level() >= GW_LOG_INFO) {
            char line[512];
            gw_pipeline_progress(p, line, sizeof(line));
            gw_log(GW_LOG_INFO, line, "progress");
        }
    }
    gw_log(GW_LOG_INFO, NULL, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    gw_notify("STOPPING=1\nSTATUS=stopping: flushing");
    /* A second signal exits at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hard_exit;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    int lost = gw_pipeline_stop(p);
    char line[512];
    gw_pipeline_progress(p, line, sizeof(line));
    gw_log(GW_LOG_INFO, line, "final");
    gw_pipeline_destroy(&p);
    gw_cfg_free(&cfg);
    return lost ? 1 : 0;
}
