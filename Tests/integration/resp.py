"""A minimal Redis client (RESP2 over a socket) for tests that write and inspect Redis directly:
the test machines have redis-server and redis-cli but no Python Redis package, and the tests must
not depend on MailTrail's own Redis code to check it."""

from __future__ import annotations

import socket


class ReplyError(Exception):
    """An error reply (`-ERR ...`)."""


class Redis:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Redis":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, *args):
        """One command; returns the decoded reply (bytes, int, list, None), raises ReplyError."""
        return self.pipeline([args])[0]

    def pipeline(self, commands):
        """Sends all commands in one write; returns their replies (errors raised after reading all)."""
        self.sock.sendall(encode(commands))
        replies = [self._reply() for _ in commands]
        for reply in replies:
            if isinstance(reply, ReplyError):
                raise reply
        return replies

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buffer) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return ReplyError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"not RESP: {line!r}")


def encode(commands) -> bytes:
    """Commands (each a sequence of bytes, str or numbers) in RESP, as a client sends them."""
    out = bytearray()
    for args in commands:
        out += b"*%d\r\n" % len(args)
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
    return bytes(out)


def fields(flat) -> dict[str, bytes]:
    """A flat [field, value, ...] reply as a dict with text keys."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
