"""mailtrail-tracker behind the shipped nginx site (postfix/nginx-mailtrail.conf) on loopback with
a throwaway certificate: the event's client address is the one nginx passed in X-Real-IP, and a
client can neither spoof it through nginx nor by talking to the tracker directly."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness import free_ports
from test_operator_files import Nginx
from tracker_process import http_get, mint, path_of, tracker_factory, wait_for_events  # noqa: F401

TRACKING_ID = "5eed0000000000000000000000000001"


@pytest.fixture
def nginx_front(tracker_factory, work_dir):
    """The tracker (default trusted_proxies: loopback) with nginx in front of it."""
    if shutil.which("nginx") is None or shutil.which("curl") is None:
        pytest.fail("nginx and curl are needed (apt-get install nginx-light curl)")
    tracker = tracker_factory()
    https_port, http_port = free_ports(2)
    nginx = Nginx(work_dir / "nginx", https_port, http_port, tracker.port)
    nginx.start()
    yield nginx, tracker, tracker_factory.mailtrail
    nginx.stop()


def curl_via_nginx(nginx: Nginx, path: str, source: str, headers: dict[str, str]) -> tuple[int, str]:
    """GET https://track.example.com{path} through nginx from `source`; (status, Location)."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--max-time", "10",
            "--interface", source, "--cacert", str(nginx.cert),
            "--resolve", f"track.example.com:{nginx.https_port}:127.0.0.1",
            f"https://track.example.com:{nginx.https_port}{path}"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, timeout=20, check=True).stdout.decode()
    status, _, location = out.partition(" ")
    return int(status), location


@pytest.mark.needs_tracker
def test_client_address_is_the_one_nginx_passed(nginx_front, redis_server):
    nginx, tracker, mailtrail = nginx_front
    click = mint(mailtrail, tracker.config, TRACKING_ID, "https://shop.example/item?id=1&x=%20y", index=2)
    pixel = mint(mailtrail, tracker.config, TRACKING_ID)
    spoof = {"X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.6"}

    assert curl_via_nginx(nginx, path_of(click), "127.0.0.5", spoof) == (302, "https://shop.example/item?id=1&x=%20y")
    assert curl_via_nginx(nginx, path_of(pixel), "127.0.0.6", spoof)[0] == 200
    found = wait_for_events(redis_server, 2)
    assert [(e["event"], e["ip"], e["link-index"] if "link-index" in e else None) for e in found] == [
        ("clicked", "127.0.0.5", 2), ("opened", "127.0.0.6", None)]
    assert all(e["user-agent"].startswith("curl/") for e in found)


@pytest.mark.needs_tracker
def test_spoofed_real_ip_from_an_untrusted_peer_is_ignored(tracker_factory, redis_server):
    tracker = tracker_factory()
    pixel = path_of(mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID))
    # Straight to the tracker from an address that is not a trusted proxy: headers ignored.
    status, _, _ = http_get(tracker.port, pixel, {"X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.6"},
                            source="127.0.0.9")
    assert status == 200
    # From a trusted proxy (127.0.0.1) the same header is believed.
    status, _, _ = http_get(tracker.port, pixel, {"X-Real-IP": "203.0.113.4"}, source="127.0.0.1")
    assert status == 200
    assert [e["ip"] for e in wait_for_events(redis_server, 2)] == ["127.0.0.9", "203.0.113.4"]


@pytest.mark.needs_tracker
def test_trusted_proxies_setting_is_honoured(tracker_factory, redis_server):
    tracker = tracker_factory(trusted_proxies="127.0.0.0/29")
    pixel = path_of(mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID))
    assert http_get(tracker.port, pixel, {"X-Real-IP": "198.51.100.1"}, source="127.0.0.7")[0] == 200
    assert http_get(tracker.port, pixel, {"X-Real-IP": "198.51.100.2"}, source="127.0.0.8")[0] == 200
    assert [e["ip"] for e in wait_for_events(redis_server, 2)] == ["198.51.100.1", "127.0.0.8"]

