#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the Grafana dashboard (tools/ops/grafana/tickgate.json) against a live gateway.

Usage: ops_grafana_check.py DASHBOARD.json PROMETHEUS_URL METRICS_FILE SINKS(0|1)

PROMETHEUS_URL is a Prometheus scraping the gateway as job "tickgate"; METRICS_FILE is a
/metrics scrape of that gateway. For every panel target and every template variable:
  - the expression, with Grafana's variables replaced by what Grafana would send ($job, $venue:
    ".*"; $__rate_interval: 5s; $__range: 1m), is evaluated by Prometheus' query API and must
    answer "success" (so it parses and type-checks as PromQL);
  - every tickgate_* metric it names must have a `# TYPE` line in /metrics (histograms by their
    base name). Sink metrics (pg, redis, spill, *_to_pg/_to_redis) count only with SINKS=1.
The dashboard's structure is checked too (unique ids, a gridPos per panel, refIds, the
datasource variable). The frames/s per venue panel must answer with a value > 0.
Prints one line per finding and exits 1 if any.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

SINK_RE = re.compile(r"^tickgate_(pg|redis|spill)_|_to_(pg|redis)_")


def grafana_to_promql(expr):
    return (expr.replace("$__rate_interval", "5s").replace("$__range", "1m")
            .replace("$__interval", "5s").replace("$job", ".*").replace("$venue", ".*"))


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400: bad query, the body says why
        return json.load(e)


def main():
    dash_path, prom, metrics_path, sinks = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3], sys.argv[4] == "1"
    dash = json.load(open(dash_path))
    exported = set(re.findall(r"^# TYPE (\S+) ", open(metrics_path).read(), re.M))
    fails = []
    ok = 0

    def check_metrics(where, expr):
        for m in sorted(set(re.findall(r"tickgate_[a-z0-9_]+", expr))):
            base = re.sub(r"_(bucket|sum|count)$", "", m)
            if base not in exported and m not in exported:
                if SINK_RE.search(base) and not sinks:
                    continue
                fails.append(f"{where}: {m} is not exported by the gateway")

    # structure
    ids = [p.get("id") for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        fails.append("panel ids are not unique")
    if not any(v.get("type") == "datasource" for v in dash["templating"]["list"]):
        fails.append("no datasource template variable")
    targets = []
    for p in dash["panels"]:
        if "gridPos" not in p:
            fails.append(f"panel '{p.get('title')}' has no gridPos")
        for t in p.get("targets", []):
            if not t.get("refId") or not t.get("expr"):
                fails.append(f"panel '{p.get('title')}': a target without refId or expr")
                continue
            targets.append((p["title"], t["expr"]))
    if len(targets) < 20:
        fails.append(f"only {len(targets)} expressions: the dashboard lost panels")

    # template variables: label_values(METRIC{...}, LABEL) asks the series API
    for v in dash["templating"]["list"]:
        if v.get("type") != "query":
            continue
        m = re.match(r"label_values\((.*),\s*(\w+)\)$", v["definition"])
        if not m:
            fails.append(f"variable {v['name']}: cannot read {v['definition']}")
            continue
        sel, label = grafana_to_promql(m.group(1)), m.group(2)
        check_metrics(f"variable {v['name']}", sel)
        url = f"{prom}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": sel})
        with urllib.request.urlopen(url, timeout=5) as r:
            vals = json.load(r)["data"]
        if not vals:
            fails.append(f"variable {v['name']}: {v['definition']} has no values")
        else:
            ok += 1
            print(f"ok: variable {v['name']} = {vals}")

    answered = 0
    for title, expr in targets:
        where = f"panel '{title}'"
        check_metrics(where, expr)
        q = grafana_to_promql(expr)
        r = query(prom, q)
        if r.get("status") != "success":
            fails.append(f"{where}: Prometheus rejects {q}: {r.get('error')}")
            continue
        ok += 1
        res = r["data"]["result"]
        if res:
            answered += 1
        if title.startswith("Frames/s per venue"):
            vals = [float(x["value"][1]) for x in res]
            if not vals or max(vals) <= 0:
                fails.append(f"{where}: {q} answered {vals}, expected a rate > 0")
            else:
                print(f"ok: {q} = {vals}")
    print(f"ok: {ok} expressions accepted by Prometheus, {answered} of {len(targets)} answered with data")
    for f in fails:
        print("FAIL: grafana: " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
