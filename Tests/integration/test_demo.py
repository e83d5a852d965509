"""`make demo` end to end (with the debug build): the newsletter is delivered tracked, its
pixel and first link work, the events and statistics show one open and one click, and the
demo stops everything it started."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.needs_milter
@pytest.mark.needs_tracker
def test_demo_shows_a_tracked_open_and_click():
    demo_dir = Path("/tmp") / f"mailtrail-demo-test-{os.getpid()}"
    env = dict(os.environ, MAILTRAIL_DEMO_BUILD="debug", MAILTRAIL_DEMO_DIR=str(demo_dir))
    try:
        result = subprocess.run([str(ROOT / "scripts/demo.sh")], env=env, capture_output=True, text=True, timeout=300)
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        assert "X-MailTrail-ID: " in out
        assert "signature: valid (key k1)" in out
        assert "pixel: HTTP 200, image/gif" in out
        assert "click: HTTP 302 -> http://htmlemail.io" in out
        events = out.split("events (mailtrail events tail)")[1].split("statistics")[0]
        assert " opened " in events and " clicked " in events and "maria@example.net" in events
        total = [line for line in out.splitlines() if line.startswith("TOTAL")]
        assert total and total[0].split()[1:6] == ["1", "1", "1", "1", "1"], out
        assert "stopped." in out
        # Nothing the demo started is left running.
        left = subprocess.run(["pgrep", "-f", str(demo_dir)], capture_output=True, text=True).stdout
        assert left == "", left
    finally:
        # The demo keeps its directory for a person to look at; a test run leaves nothing behind.
        shutil.rmtree(demo_dir, ignore_errors=True)
