"""The small helpers the other tests rely on: configuration and key files, free ports, and the
throwaway Redis (scripts/redis-instance.sh)."""

from __future__ import annotations

import base64
import socket
import stat

from harness import RedisServer, ephemeral_port_range, free_port, listening_on, pid_alive, signing_key, write_config, write_keys


def test_config_file_is_postfix_style_key_value_lines(tmp_path):
    path = write_config(tmp_path / "mailtrail.conf", {
        "tracking_base_url": "https://t.example.test/",
        "redis_port": 6390,
        "track_text": False,
        "keys_file": tmp_path / "keys",
    })
    assert path.read_text() == (
        "# MailTrail test configuration (written by Tests/integration/harness.py)\n"
        "tracking_base_url = https://t.example.test/\n"
        "redis_port = 6390\n"
        "track_text = no\n"
        f"keys_file = {tmp_path / 'keys'}\n")


def test_keys_file_holds_fixed_keys_and_is_private(tmp_path):
    path = write_keys(tmp_path / "keys", ["k1", "k2"], active="k2")
    lines = path.read_text().splitlines()
    assert lines[1:] == [f"k1 = {base64.b64encode(signing_key('k1')).decode()}",
                         f"k2 = {base64.b64encode(signing_key('k2')).decode()}",
                         "active = k2"]
    assert len(signing_key("k1")) == 32 and signing_key("k1") != signing_key("k2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_free_port_is_free_and_outside_the_ephemeral_range():
    low, _ = ephemeral_port_range()
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    for port in ports:
        assert 1024 <= port < low
        assert listening_on(port) == []
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))


def test_free_port_never_probes_a_port_it_handed_out(monkeypatch):
    """A probe binds its candidate for a moment; on a port handed out earlier, that could make
    the port's owner (a server restarting on it) fail to bind."""
    import freeport
    owned = free_port()
    low, _ = ephemeral_port_range()
    draws = iter([owned, owned] + [freeport.FIXTURE_PORTS_FROM + i for i in range(200)])
    monkeypatch.setattr(freeport.random, "randrange", lambda start, stop: next(draws))
    probed = []
    real_socket = socket.socket

    class RecordingSocket(real_socket):
        def bind(self, address):
            probed.append(address[1])
            return super().bind(address)

    monkeypatch.setattr(freeport.socket, "socket", RecordingSocket)
    port = free_port()
    assert port != owned and freeport.FIXTURE_PORTS_FROM <= port < low
    assert owned not in probed and probed[-1] == port


def test_redis_fixture_answers_on_loopback(redis_server):
    assert redis_server.cli("PING") == "PONG"
    assert redis_server.cli("SET", "mt:test", "1") == "OK"
    assert redis_server.cli("GET", "mt:test") == "1"
    # no persistence: no RDB snapshots (empty "save"), no AOF
    assert redis_server.cli("CONFIG", "GET", "save") == "save"
    assert redis_server.cli("CONFIG", "GET", "appendonly") == "appendonly\nno"
    assert [address for address, _, _ in listening_on(redis_server.port)] == ["127.0.0.1"]


def test_redis_stops_by_pid_and_keeps_data_with_aof(work_dir):
    server = RedisServer(work_dir / "redis-aof", free_port(), aof=True).start()
    pid = server.pid
    assert server.cli("SET", "mt:kept", "yes") == "OK"
    server.stop()
    assert not pid_alive(pid, "redis-server")
    assert listening_on(server.port) == []
    server.stop()       # stopping twice is harmless
    server.start()
    try:
        assert server.cli("GET", "mt:kept") == "yes"
    finally:
        server.stop()
