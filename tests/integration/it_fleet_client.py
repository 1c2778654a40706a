# SPDX-License-Identifier: MIT
"""The Python client on the fleet's Redis Cluster (test_it_fleet_cluster.sh, issue 13): it
follows every book of the venue through the pattern "binance *" (found by SCAN on every
primary, SSUBSCRIBEd at each channel's primary) and its held books equal the offline rebuild;
then the primary owning the first symbol fails over (CLUSTER FAILOVER at its replica) and the
client, told by the server (sunsubscribe) or by a lost connection, joins again on the new map:
its books still equal the offline rebuild, nothing was unreadable.

Before that, the C client does the same join: the docs' example program
(client/examples/tg_client_example.c) with the URL redis-cluster://SEEDS and the pattern
"binance *" prints each book it joins from its snapshot key; every symbol's best bid and ask
and state must be the offline rebuild's.

Usage: it_fleet_client.py OFFLINE_JSON SEEDS [C_EXAMPLE]
"""
import json
import re
import subprocess
import sys
import time
from decimal import Decimal

import redis
from redis.cluster import ClusterNode, RedisCluster

import tickgate

off = json.load(open(sys.argv[1]))["symbols"]
seeds = sys.argv[2]
c = tickgate.Client("redis-cluster://" + seeds, prefix="tg")
c.subscribe("binance", "*", kinds=("book",))
c.connect()
seen = {}


def follow(seconds, until=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ev = c.next(0.1)
        if ev is not None:
            seen[ev.kind] = seen.get(ev.kind, 0) + 1
            if ev.kind == "bad":
                print("FAIL: bad document: %s" % ev.text)
        if until is not None and until():
            return True
    return until is None


def lv(levels):
    return [(Decimal(p), Decimal(q)) for p, q in levels]


def differ():
    """Symbols whose held book is missing or not the offline one."""
    out = []
    for s, o in sorted(off.items()):
        b = c.book("binance", s)
        if b is None or b.bids != lv(o["bids"]) or b.asks != lv(o["asks"]) or \
                b.state.lower() != str(o["state"]).lower():
            out.append(s)
    return out


bad = 0
if len(sys.argv) > 3:  # the C client: join every book of the pattern on the cluster
    out = subprocess.run([sys.argv[3], "redis-cluster://" + seeds, "tg", "binance", "*",
                          str(len(off))], capture_output=True, text=True, timeout=30).stdout
    got = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^book binance (\S+) seq=\d+ (\S+) bid (\S+) ask (\S+)", out, re.M)}

    def best(levels):
        return Decimal(levels[0][0]) if levels else None

    def same(s):
        if s not in got:
            return False
        st, bid, ask = got[s]
        o = off[s]
        return (st == str(o["state"]).upper()
                and (None if bid == "-" else Decimal(bid)) == best(o["bids"])
                and (None if ask == "-" else Decimal(ask)) == best(o["asks"]))

    wrong = [s for s in sorted(off) if not same(s)]
    print("C client (redis-cluster://) on the fleet: %d of %d books joined with the offline "
          "best bid/ask and state" % (len(off) - len(wrong), len(off)))
    if wrong:
        print("FAIL: C client books differ: %s\n%s" % (wrong[:5], out[:2000]))
        bad += 1
if not follow(10.0, lambda: not differ()):
    print("FAIL: the client's books differ from the offline rebuild: %s" % differ()[:5])
    bad += 1
print("python client on the cluster: %d books equal the offline rebuild; events %s"
      % (len(off) - len(differ()), sorted(seen.items())))

# fail over the primary that owns the first symbol's book
nodes = [ClusterNode(h, int(p)) for h, p in (a.split(":") for a in seeds.split(","))]
rc = RedisCluster(startup_nodes=nodes)
first = sorted(off)[0]
primary = rc.get_node_from_key("tg:book:{binance:%s}" % first)
replica = None
for n in rc.get_nodes():
    r = redis.Redis(host=n.host, port=n.port)
    info = r.info("replication")
    if info.get("role") == "slave" and info.get("master_port") == primary.port:
        replica = r
        break
if replica is None:
    print("FAIL: no replica of %s" % primary.name)
    sys.exit(1)
for _ in range(100):  # a manual failover needs the replica in sync
    if replica.info("replication").get("master_link_status") == "up":
        break
    time.sleep(0.05)
reconnects = c.counters["reconnects"]
t0 = time.monotonic()
replica.execute_command("CLUSTER FAILOVER")
ok = follow(15.0, lambda: c.counters["reconnects"] > reconnects and not differ())
print("python client: CLUSTER FAILOVER of %s: joined again after %.0f ms (%d disconnect(s)), "
      "%d books equal the offline rebuild; counters %s"
      % (primary.name, (time.monotonic() - t0) * 1e3, c.counters["disconnects"],
         len(off) - len(differ()), c.counters))
if not ok:
    print("FAIL: after the failover: reconnects %d, books differing %s"
          % (c.counters["reconnects"], differ()[:5]))
    bad += 1
if c.counters["bad"]:
    bad += 1
c.close()
sys.exit(1 if bad else 0)
