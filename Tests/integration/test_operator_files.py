"""What operators paste (postfix/): the main.cf snippet as Postfix reads it, the systemd units
as systemd reads them, and the nginx server block running for real on loopback in front of a
stand-in tracker."""

from __future__ import annotations

import http.client
import http.server
import shutil
import ssl
import threading
from pathlib import Path

import pytest

from harness import REPO, free_ports, pid_alive, run, wait_until, listening_on

POSTFIX_DIR = REPO / "postfix"


# ---------------------------------------------------------------------------------------------
# main.cf snippet


def postconf_snippet(tmp_path: Path) -> tuple[dict[str, str], str]:
    (tmp_path / "main.cf").write_bytes((POSTFIX_DIR / "main.cf.snippet").read_bytes())
    (tmp_path / "master.cf").write_text("")
    result = run(["postconf", "-c", tmp_path, "-n"])
    values = dict(line.split(" = ", 1) for line in result.stdout.decode().splitlines())
    return values, result.stderr.decode()


def test_snippet_puts_mailtrail_before_opendkim_and_covers_sendmail(tmp_path):
    values, warnings = postconf_snippet(tmp_path)
    assert warnings == ""
    milters = [m.strip() for m in values["smtpd_milters"].split(",")]
    assert milters == ["inet:127.0.0.1:8893", "inet:127.0.0.1:8891"]
    assert values["non_smtpd_milters"] == "$smtpd_milters"
    assert values["milter_default_action"] == "accept"
    assert values["milter_protocol"] == "6"
    assert "{client_addr}" in values["milter_connect_macros"].split()
    assert {"i", "{auth_authen}"} <= set(values["milter_mail_macros"].split())
    assert "i" in values["milter_end_of_data_macros"].split()
    assert values["milter_content_timeout"] == "60s"


# ---------------------------------------------------------------------------------------------
# systemd units


UNITS = {
    "mailtrail-milter.service": "/usr/local/bin/mailtrail-milter -f -c /etc/mailtrail/mailtrail.conf",
    "mailtrail-tracker.service": "/usr/local/bin/mailtrail-tracker -c /etc/mailtrail/mailtrail.conf",
}


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_systemd_unit(unit, tmp_path):
    text = (POSTFIX_DIR / unit).read_text()
    settings = unit_settings(text)
    assert settings["ExecStart"] == [UNITS[unit]]
    assert settings["User"] == ["mailtrail"]
    assert settings["RuntimeDirectory"] == ["mailtrail"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
                      "CapabilityBoundingSet", "RestrictAddressFamilies", "SystemCallFilter"):
        assert hardening in settings, hardening
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # systemd-analyze verify wants the executable to exist: check a copy running /bin/true.
    copy = tmp_path / unit
    copy.write_text(text.replace(UNITS[unit].split()[0], "/bin/true"))
    result = run(["systemd-analyze", "verify", "--man=no", copy], check=False)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0 and output.strip() == "", output


# ---------------------------------------------------------------------------------------------
# nginx in front of a stand-in tracker


class StandInTracker(http.server.ThreadingHTTPServer):
    """Answers like mailtrail-tracker (GIF for /o/, 302 for /c/) and records each request
    and each new connection, to see what nginx forwards."""

    daemon_threads = True

    def __init__(self, port: int):
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.connections = 0
        super().__init__(("127.0.0.1", port), StandInHandler)


class StandInHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, so nginx can reuse connections

    def setup(self):
        super().setup()
        self.server.connections += 1

    def log_message(self, *args):
        pass

    def answer(self, include_body: bool):
        self.server.requests.append((self.command, self.path, dict(self.headers.items())))
        if self.path.startswith("/o/"):
            body = b"GIF89a-stand-in"
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
        elif self.path.startswith("/c/"):
            body = b""
            self.send_response(302)
            self.send_header("Location", "https://example.com/landing?from=mail")
        else:
            body = b"internal"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if include_body:
            self.wfile.write(body)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)

    def do_POST(self):
        self.answer(True)


class Nginx:
    """The shipped server block with loopback ports, a throwaway certificate and its own
    prefix, run by its own nginx master (stopped by PID)."""

    def __init__(self, directory: Path, https_port: int, http_port: int, tracker_port: int):
        self.directory = directory
        self.https_port = https_port
        self.http_port = http_port
        directory.mkdir()
        cert, key = directory / "cert.pem", directory / "key.pem"
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "1", "-subj", "/CN=track.example.com",
             "-addext", "subjectAltName=DNS:track.example.com",
             "-keyout", key, "-out", cert])
        self.cert = cert
        text = (POSTFIX_DIR / "nginx-mailtrail.conf").read_text()
        replacements = [
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
            ("listen [::]:443 ssl http2;\n", ""),
            ("listen 80;", f"listen 127.0.0.1:{http_port};"),
            ("listen [::]:80;\n", ""),
            ("server 127.0.0.1:8080;", f"server 127.0.0.1:{tracker_port};"),
            ("/etc/letsencrypt/live/track.example.com/fullchain.pem", str(cert)),
            ("/etc/letsencrypt/live/track.example.com/privkey.pem", str(key)),
            ("/var/log/nginx/mailtrail.access.log", str(directory / "access.log")),
            ("root /var/www/certbot;", f"root {directory};"),
        ]
        for old, new in replacements:
            assert text.count(old) == 1, f"nginx-mailtrail.conf no longer contains {old!r} once"
            text = text.replace(old, new)
        (directory / "mailtrail.conf").write_text(text)
        (directory / "nginx.conf").write_text(f"""
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {directory}/tmp-body;
    proxy_temp_path {directory}/tmp-proxy;
    fastcgi_temp_path {directory}/tmp-fastcgi;
    uwsgi_temp_path {directory}/tmp-uwsgi;
    scgi_temp_path {directory}/tmp-scgi;
    include {directory}/mailtrail.conf;
}}
""")

    def start(self) -> None:
        run(["nginx", "-t", "-q", "-p", self.directory, "-c", self.directory / "nginx.conf"])
        run(["nginx", "-p", self.directory, "-c", self.directory / "nginx.conf"])
        wait_until(lambda: listening_on(self.https_port), 10, "nginx to listen")

    @property
    def pid(self) -> int:
        return int((self.directory / "nginx.pid").read_text().strip())

    def stop(self) -> None:
        pid = self.pid
        run(["kill", "-QUIT", pid])
        wait_until(lambda: not pid_alive(pid, "nginx"), 10, f"nginx {pid} to exit")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                https: bool = True) -> http.client.HTTPResponse:
        if https:
            context = ssl.create_default_context(cafile=str(self.cert))
            context.check_hostname = False
            connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=10,
                                                     context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        connection.request(method, path, headers={"Host": "track.example.com", **(headers or {})})
        response = connection.getresponse()
        response.body = response.read()
        connection.close()
        return response


@pytest.fixture
def nginx_and_tracker(work_dir):
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        pytest.fail("nginx and openssl are needed (apt-get install nginx-light openssl)")
    https_port, http_port, tracker_port = free_ports(3)
    tracker = StandInTracker(tracker_port)
    thread = threading.Thread(target=tracker.serve_forever, daemon=True)
    thread.start()
    nginx = Nginx(work_dir / "nginx", https_port, http_port, tracker_port)
    nginx.start()
    yield nginx, tracker
    nginx.stop()
    tracker.shutdown()
    tracker.server_close()
    thread.join(timeout=10)


def test_nginx_proxies_pixel_and_click_with_the_client_address(nginx_and_tracker):
    nginx, tracker = nginx_and_tracker
    pixel = nginx.request("GET", "/o/AbC_d-9.gif", {"X-Forwarded-For": "203.0.113.9",
                                                    "X-Real-IP": "203.0.113.9"})
    assert (pixel.status, pixel.getheader("Content-Type"), pixel.body) == (200, "image/gif", b"GIF89a-stand-in")
    click = nginx.request("GET", "/c/AbC_d-9")
    assert click.status == 302
    assert click.getheader("Location") == "https://example.com/landing?from=mail"
    head = nginx.request("HEAD", "/c/AbC_d-9")
    assert head.status == 302

    assert [(m, p) for m, p, _ in tracker.requests] == [
        ("GET", "/o/AbC_d-9.gif"), ("GET", "/c/AbC_d-9"), ("HEAD", "/c/AbC_d-9")]
    for _, _, headers in tracker.requests:
        # the client's own X-Real-IP / X-Forwarded-For never get through
        assert headers["X-Real-IP"] == "127.0.0.1"
        assert headers["X-Forwarded-For"] == "127.0.0.1"
        assert headers["X-Forwarded-Proto"] == "https"
        assert headers["Host"] == "track.example.com"
    # keepalive upstream: three requests, one connection
    assert tracker.connections == 1


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/", "/o/../metrics", "/o/%2e%2e/metrics",
                                  "/o/abc.png", "/o/abc", "/c/abc/def", "/c/ab%2Fcd", "/c/",
                                  "/o/a.gif/../../metrics"])
def test_nginx_exposes_nothing_else(nginx_and_tracker, path):
    nginx, tracker = nginx_and_tracker
    assert nginx.request("GET", path).status == 404
    assert tracker.requests == []


def test_nginx_allows_only_get_and_head(nginx_and_tracker):
    nginx, tracker = nginx_and_tracker
    assert nginx.request("POST", "/c/AbC").status == 403
    assert nginx.request("DELETE", "/o/AbC.gif").status == 403
    assert tracker.requests == []


def test_nginx_redirects_http_to_https(nginx_and_tracker):
    nginx, _ = nginx_and_tracker
    response = nginx.request("GET", "/c/AbC?x=1", https=False)
    assert response.status == 301
    assert response.getheader("Location") == "https://track.example.com/c/AbC?x=1"


def test_nginx_serves_a_pixel_even_when_the_tracker_is_down(nginx_and_tracker):
    nginx, tracker = nginx_and_tracker
    tracker.shutdown()
    tracker.server_close()
    pixel = nginx.request("GET", "/o/AbC.gif")
    assert pixel.status == 200
    assert pixel.getheader("Content-Type") == "image/gif"
    assert pixel.body.startswith(b"GIF89a") and len(pixel.body) == 43
    assert "no-store" in pixel.getheader("Cache-Control")
    assert nginx.request("GET", "/c/AbC").status == 502
