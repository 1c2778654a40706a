# SPDX-License-Identifier: MIT
"""The Redis Cluster side of the tickgate client (``redis-cluster://`` URLs, docs/clients.md
"Redis Cluster"): the seed list, the hash-tagged names, and sharded pub/sub.

redis-py 4.3 (Debian 12) follows a cluster for commands (``RedisCluster``: GET, SCAN on every
primary, XRANGE, MOVED) but has no sharded pub/sub, so ``ShardedPubSub`` holds one raw
connection per primary and sends ``SSUBSCRIBE`` for each channel to the primary of its slot.
Its ``get_message()`` hands back the dictionaries redis-py's PubSub does, so the client's join
and rule are the same code on one Redis and on a cluster. A ``sunsubscribe`` from the server
(the cluster moved the slot: failover, resharding) raises ``ConnectionError``: the client treats
it as an outage and joins again on a fresh map, like the C library. Thread: the client's.
"""
import select
import time
from urllib.parse import unquote

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

SCHEME = "redis-cluster://"

# what a join may raise on a cluster besides redis.RedisError/OSError (no node answers, slots
# not covered while a primary fails over)
ERRORS = (RedisClusterException,)


def parse_url(url):
    """``redis-cluster://[[user]:password@]host:port[,host:port...][/0]`` -> (nodes, user,
    password). Raises ValueError."""
    rest = url[len(SCHEME):]
    user = password = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        user, _, password = auth.partition(":") if ":" in auth else ("", "", auth)
        user, password = unquote(user) or None, unquote(password) or None
    rest, _, db = rest.partition("/")
    if db not in ("", "0"):
        raise ValueError("a Redis Cluster has only db 0")
    nodes = []
    for a in rest.split(","):
        host, _, port = a.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("bad seed %r in %r" % (a, url))
        nodes.append((host.strip("[]"), int(port)))
    return nodes, user, password


def tag(venue, symbol):
    """The instrument part of every name on a cluster: the hash tag (docs/redis.md)."""
    if any(c in "{}" for c in venue + symbol):
        raise ValueError("a venue or symbol with a brace cannot be followed on a cluster")
    return "{%s:%s}" % (venue, symbol)


def dots(s):
    """':' -> '.' up to the hash tag (key -> channel; the tag keeps its ':')."""
    head, brace, tail = s.partition("{")
    return head.replace(":", ".") + brace + tail


def colons(s):
    """'.' -> ':' up to the hash tag (channel -> key)."""
    head, brace, tail = s.partition("{")
    return head.replace(".", ":") + brace + tail


def connect(url, connect_timeout, command_timeout):
    """A RedisCluster for the commands (reads the slot map)."""
    nodes, user, password = parse_url(url)
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in nodes], username=user,
                        password=password, socket_connect_timeout=connect_timeout,
                        socket_timeout=command_timeout, require_full_coverage=True)


class ShardedPubSub:
    """SSUBSCRIBE at the primary of each channel's slot (one raw connection per primary)."""

    def __init__(self, rc, url, connect_timeout, command_timeout):
        _, user, password = parse_url(url)
        self._rc = rc
        self._kw = dict(username=user, password=password, socket_timeout=command_timeout,
                        socket_connect_timeout=connect_timeout)
        self._conns = {}  # "host:port" -> redis.Connection
        self._order = []
        self._next = 0

    def _conn(self, name):
        node = self._rc.get_node_from_key(name)  # the primary of the name's slot
        c = self._conns.get(node.name)
        if c is None:
            c = redis.Connection(host=node.host, port=node.port, **self._kw)
            c.connect()
            self._conns[node.name] = c
            self._order.append(c)
        return c

    def ssubscribe(self, *names):
        """Send one SSUBSCRIBE per channel (a command may name channels of one slot only);
        the confirmations come back as ``{"type": "subscribe"}`` messages."""
        for n in names:
            self._conn(n).send_command("SSUBSCRIBE", n)

    def get_message(self, timeout=0.0):
        """The next message of any node as redis-py's PubSub gives it, or None after
        ``timeout`` seconds. Nodes are taken in turn, so a busy shard does not starve a quiet
        one."""
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            n = len(self._order)
            for i in range(n):
                c = self._order[(self._next + i) % n]
                if c.can_read(timeout=0):
                    self._next = (self._next + i + 1) % n
                    return self._message(c.read_response())
            left = deadline - time.monotonic()
            if left <= 0 or not n:
                return None
            select.select([c._sock for c in self._order], [], [], left)

    @staticmethod
    def _message(r):
        kind = r[0].decode() if isinstance(r, list) and r else ""
        if kind == "smessage" and len(r) == 3:
            return {"type": "message", "pattern": None, "channel": r[1], "data": r[2]}
        if kind == "ssubscribe":
            return {"type": "subscribe", "pattern": None, "channel": r[1], "data": r[2]}
        if kind == "sunsubscribe":  # we never unsubscribe: the slot moved
            raise redis.ConnectionError("the cluster moved a channel's slot (sunsubscribe)")
        raise redis.ConnectionError("unexpected reply on a sharded subscriber: %r" % (r,))

    def close(self):
        for c in self._order:
            c.disconnect()
        self._conns, self._order = {}, []
