#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tickgate.json beside it: the Grafana dashboard (docs/operations.md "Grafana").
Edit the panels here and run it; tests/ops/test_ops_prom.sh checks every expression against a
live gateway and a real Prometheus (tests/ops/ops_grafana_check.py)."""
import json
import os
J = '{job=~"$job"}'
def sel(extra=''):
    return '{job=~"$job"' + (',' + extra if extra else '') + '}'
RI = '$__rate_interval'
V = '{job=~"$job",venue=~"$venue"}'
panels = []
pid = [0]
y = [0]
def nid():
    pid[0] += 1
    return pid[0]
def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1
x = [0]
def ts(title, targets, unit, w=12, desc='', kind='timeseries', h=8):
    if x[0] + w > 24:
        x[0] = 0
        y[0] += h
    p = {"type": kind, "title": title, "id": nid(), "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"h": h, "w": w, "x": x[0], "y": y[0]},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"]}} if kind == 'timeseries' else {},
         "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l,
                      "datasource": {"type": "prometheus", "uid": "${datasource}"}} for i, (e, l) in enumerate(targets)]}
    if desc:
        p["description"] = desc
    panels.append(p)
    x[0] += w
def endrow(h=8):
    y[0] += h
    x[0] = 0
def q(qq, metric, by, extra=''):
    return f'histogram_quantile({qq}, sum by ({by}le) (rate({metric}_bucket{sel(extra)}[{RI}])))'

row("Latency (receive stamp to each hand-off)")
ts("Receive -> book applied: p50 / p99", [(q(0.5, 'tickgate_latency_receive_to_book_seconds', ''), 'p50'),
                                           (q(0.99, 'tickgate_latency_receive_to_book_seconds', ''), 'p99')], 's',
   desc="The gateway's own work: monotonic receive stamp to the builder having applied the exchange message.")
ts("Stages: p50 / p99 by stage and record class", [(q(0.5, 'tickgate_latency_stage_seconds', 'stage, kind, '), 'p50 {{stage}} {{kind}}'),
                                                    (q(0.99, 'tickgate_latency_stage_seconds', 'stage, kind, '), 'p99 {{stage}} {{kind}}')], 's',
   desc="Cumulative from the receive stamp: book_popped (left the feed ring), sink_pushed (handed to the sink rings), by class (docs/latency.md).")
endrow()
ts("Receive -> Redis published: p50 / p99", [(q(0.5, 'tickgate_latency_receive_to_redis_seconds', ''), 'p50'),
                                               (q(0.99, 'tickgate_latency_receive_to_redis_seconds', ''), 'p99')], 's')
ts("Receive -> PostgreSQL committed: p50 / p99", [(q(0.5, 'tickgate_latency_receive_to_pg_seconds', ''), 'p50'),
                                                    (q(0.99, 'tickgate_latency_receive_to_pg_seconds', ''), 'p99')], 's')
endrow()
ts("Exchange time -> receive, p50 by venue (clock offset included)",
   [(q(0.5, 'tickgate_latency_exchange_to_receive_seconds', 'venue, ', 'venue=~"$venue"'), '{{venue}}')], 's', w=24,
   desc="Exchange event time to our receive time. It includes the venue's and our clock offsets, so it is not our latency; "
        "on replayed recordings the exchange times are from the recording and every value sits in the top bucket.")
endrow()

row("Feeds")
ts("Frames/s per venue", [(f'sum by (venue) (rate(tickgate_feed_frames_total{V}[{RI}]))', '{{venue}}')], 'short', w=8)
ts("Events/s per venue", [(f'sum by (venue) (rate(tickgate_feed_events_total{V}[{RI}]))', '{{venue}}')], 'short', w=8)
ts("Bytes/s per venue", [(f'sum by (venue) (rate(tickgate_feed_bytes_total{V}[{RI}]))', '{{venue}}')], 'Bps', w=8)
endrow()
ts("Feed health (increase over the range)", [
    (f'sum by (feed, venue) (increase(tickgate_feed_gaps_total{V}[$__range]))', 'gaps {{feed}}'),
    (f'sum by (feed, venue) (increase(tickgate_feed_resyncs_total{V}[$__range]))', 'resyncs {{feed}}'),
    (f'sum by (feed, venue) (increase(tickgate_feed_reconnects_total{V}[$__range]))', 'reconnects {{feed}}'),
    (f'sum by (feed, venue) (increase(tickgate_feed_stale_total{V}[$__range]))', 'stale {{feed}}'),
    (f'sum by (feed, venue) (increase(tickgate_feed_connect_errors_total{V}[$__range]))', 'connect errors {{feed}}'),
    (f'sum by (feed, venue, kind) (increase(tickgate_feed_errors_total{V}[$__range]))', 'bad input {{kind}} {{feed}}'),
    (f'sum by (feed, venue, reason) (increase(tickgate_feed_book_gaps_total{V}[$__range]))', 'book gaps {{reason}} {{feed}}'),
], 'short', w=12, kind='table',
   desc="book gaps: gap records of the feed's books by reason (they add up to tickgate_book_gaps_total); gaps: sequence gaps the feed detected.")
ts("Feeds receiving (frames/s per feed, 0 = silent)",
   [(f'sum by (feed, venue) (rate(tickgate_feed_frames_total{V}[1m]))', '{{feed}}')], 'short', w=12, kind='bargauge')
endrow()

ts("Exchange -> receive offset per feed (last record)",
   [(f'tickgate_feed_exchange_offset_seconds{V}', '{{feed}}')], 's', w=24,
   desc="Receive time minus the exchange's timestamp of the feed's last published record: network delay plus clock offsets; "
        "hours or days mean replayed recordings (the data's age), not a delay.")
endrow()

row("Rings and spill")
ts("Ring depth (records waiting)", [(f'tickgate_ring_depth{J}', '{{feed}}{{ring}}')], 'short',
   desc="Feed rings (feed -> book) are labelled feed/venue, sink rings (book -> sink) ring=postgres|redis.")
ts("Spill journal", [(f'tickgate_spill_pending_bytes{J}', 'pending bytes'),
                     (f'rate(tickgate_spill_batches_total{J}[{RI}])', 'batches spilled/s'),
                     (f'rate(tickgate_spill_replayed_total{J}[{RI}])', 'replayed/s'),
                     (f'increase(tickgate_spill_full_total{J}[{RI}])', 'full')], 'short',
   desc="Bytes written to the journal while PostgreSQL is behind or away, and replayed when it is back.")
endrow()
ts("Dropped and stalled", [(f'sum(rate(tickgate_feed_events_dropped_total{J}[{RI}]))', 'feed ring drops/s'),
                           (f'rate(tickgate_book_out_drops_total{J}[{RI}])', 'lossy sink drops/s'),
                           (f'rate(tickgate_book_out_stalls_total{J}[{RI}])', 'lossless sink stalls/s'),
                           (f'rate(tickgate_redis_dropped_total{J}[{RI}])', 'redis dropped/s')], 'short', w=24)
endrow()

row("Books")
ts("Books by state", [(f'tickgate_books{J}', 'seen'), (f'tickgate_books_valid{J}', 'VALID'),
                      (f'tickgate_books_fault{J}', 'FAULT'),
                      (f'tickgate_books{J} - tickgate_books_valid{J}', 'not VALID')], 'short', w=8)
ts("Gaps, resyncs, faults (per second)", [(f'rate(tickgate_book_gaps_total{J}[{RI}])', 'gap records'),
                                          (f'rate(tickgate_book_resyncs_total{J}[{RI}])', 'resyncs'),
                                          (f'rate(tickgate_book_crossed_total{J}[{RI}])', 'crossed'),
                                          (f'sum by (result) (rate(tickgate_book_checksum_total{J}[{RI}]))', 'checksum {{result}}')], 'short', w=8)
ts("Builder throughput", [(f'rate(tickgate_book_events_total{J}[{RI}])', 'events/s'),
                          (f'rate(tickgate_book_messages_total{J}[{RI}])', 'messages/s')], 'short', w=8)
endrow()

row("Sinks")
ts("Connected", [(f'tickgate_pg_connected{J}', 'postgres'), (f'tickgate_redis_connected{J}', 'redis')], 'short', w=8, kind='stat')
ts("PostgreSQL rows committed/s", [(f'sum(rate(tickgate_pg_rows_committed_total{J}[{RI}]))', 'rows/s')], 'short', w=8)
ts("Redis messages/s", [(f'sum(rate(tickgate_redis_messages_total{J}[{RI}]))', 'messages/s')], 'short', w=8)
endrow()

dash = {
    "__inputs": [],
    "title": "tickgate",
    "uid": "tickgate",
    "description": "tickgate market-data gateway: latency per stage, frames per venue, feed health, rings, spill, books, sinks (tools/ops/grafana, docs/operations.md).",
    "tags": ["tickgate", "market-data"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "refresh": "5s",
    "time": {"from": "now-15m", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0},
        {"name": "job", "label": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(tickgate_books, job)", "refId": "job"},
         "definition": "label_values(tickgate_books, job)", "refresh": 1, "includeAll": True, "multi": True,
         "current": {"text": "All", "value": "$__all"}, "allValue": ".*"},
        {"name": "venue", "label": "venue", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(tickgate_feed_frames_total{job=~\"$job\"}, venue)", "refId": "venue"},
         "definition": "label_values(tickgate_feed_frames_total{job=~\"$job\"}, venue)", "refresh": 2, "includeAll": True, "multi": True,
         "current": {"text": "All", "value": "$__all"}, "allValue": ".*"},
    ]},
    "annotations": {"list": []},
    "panels": panels,
}
json.dump(dash, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tickgate.json'), 'w'), indent=2)
print(f'{len(panels)} panels')
