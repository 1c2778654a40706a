# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by the scripts that run a local gateway on the throwaway servers of
# tests/fixtures/services.sh ($TG_TEST_PG_DSN, $TG_TEST_REDIS_PORT): tools/dev/demo.sh and
# tools/bench/bench-e2e.sh.

# gw_ini FILE LOG_LEVEL FEED_THREADS SCHEMA SPILL_DIR METRICS_PORT: write the [gateway],
# [postgres], [redis] and [metrics] sections of the config to FILE (the [feed] sections are
# appended by the caller).
gw_ini() {
    cat >"$1" <<INI
[gateway]
log_level = $2
feed_threads = $3
candles = 1s, 1m, 5m, 1h
[postgres]
conninfo = $TG_TEST_PG_DSN
schema = $4
spill_dir = $5
[redis]
host = 127.0.0.1
port = $TG_TEST_REDIS_PORT
[metrics]
listen = 127.0.0.1:$6
INI
}
