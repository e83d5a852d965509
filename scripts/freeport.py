#!/usr/bin/env python3
"""Free TCP ports on 127.0.0.1 for throwaway servers (tests, demo, benchmarks).

    scripts/freeport.py [COUNT]     prints COUNT distinct free ports (default 1), one per line

The ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), never
from `bind(0)`: the kernel gives outgoing connections local ports from that range, so a port
it picked for `bind(0)` can be taken by any client's connection as soon as the server on it
stops. A server stopped and started again on a port from below the range (the fault tests
restart Redis and the milter) finds it still free.
"""

from __future__ import annotations

import random
import socket
import sys
from pathlib import Path

FIXTURE_PORTS_FROM = 10000

_handed_out: set[int] = set()


def ephemeral_port_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections (net.ipv4.ip_local_port_range)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port on 127.0.0.1 nothing uses right now, below the ephemeral range; never the same
    one twice in one process."""
    low, _ = ephemeral_port_range()
    if low - FIXTURE_PORTS_FROM < 1000:   # no room below the range: let the kernel pick
        candidates = [0] * 200
    else:
        candidates = [random.randrange(FIXTURE_PORTS_FROM, low) for _ in range(200)]
    for candidate in candidates:
        if candidate in _handed_out:   # its owner may be binding it (a server restarting) now
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {FIXTURE_PORTS_FROM} and {low}")


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports."""
    return [free_port() for _ in range(count)]


if __name__ == "__main__":
    try:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    except ValueError:
        sys.exit("usage: freeport.py [COUNT]")
    print("\n".join(str(port) for port in free_ports(count)))
