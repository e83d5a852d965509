"""scripts/swift-build: every release build (make release, make demo, the benches, the soak, the
README's install steps) goes through it, so the binaries an operator installs are the ones the
benches measured, and .build/release is never rebuilt with other flags by another caller."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from harness import REPO

SCRIPT = REPO / "scripts" / "swift-build"
EXCLUSIVITY_OFF = "-enforce-exclusivity=unchecked"

# A release build run directly: `swift build -c release` in shell or Make, or the argument list
# of a Python subprocess call.
DIRECT_RELEASE_BUILD = re.compile(
    r"""swift\)?\s+build\b[^\n]*-c\s*"?release|["']swift["']\s*,\s*["']build["'][^\n]*["']release["']""", re.IGNORECASE)


def run_script(*args: str, swift: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if swift is not None:
        env["SWIFT"] = str(swift)
    return subprocess.run([str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True)


def argument_recorder(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that writes its arguments, one per line, where the test reads them."""
    record = tmp_path / "arguments"
    program = tmp_path / "swift"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    program.chmod(0o755)
    return program, record


def test_a_release_build_turns_off_dynamic_exclusivity_checks(tmp_path):
    swift, record = argument_recorder(tmp_path)
    result = run_script("release", "--product", "mailtrail-tracker", swift=swift)
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == [
        "build", "-c", "release", "-Xswiftc", EXCLUSIVITY_OFF, "--product", "mailtrail-tracker"]


def test_a_debug_build_keeps_them(tmp_path):
    swift, record = argument_recorder(tmp_path)
    result = run_script("debug", "--build-tests", swift=swift)
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == ["build", "-c", "debug", "--build-tests"]


def test_print_flags_shows_what_each_configuration_adds():
    assert run_script("release", "--print-flags").stdout.split() == ["-Xswiftc", EXCLUSIVITY_OFF]
    assert run_script("debug", "--print-flags").stdout.split() == []


def test_an_unknown_configuration_is_refused_before_building(tmp_path):
    swift, record = argument_recorder(tmp_path)
    for args in (("fast",), ()):
        result = run_script(*args, swift=swift)
        assert result.returncode == 2
        assert "scripts/swift-build" in result.stderr
    assert not record.exists()


def test_no_release_build_bypasses_the_script():
    places = [REPO / "Makefile", REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
              *sorted(p for p in (REPO / "scripts").iterdir() if p.is_file() and p != SCRIPT),
              *sorted(p for p in (REPO / "bench").iterdir() if p.is_file())]
    bypasses = []
    for place in places:
        text = place.read_text(errors="replace")
        bypasses += [f"{place.relative_to(REPO)}: {m.group(0)}" for m in DIRECT_RELEASE_BUILD.finditer(text)
                     # The fuzzers are a package of their own (Fuzz/), built with sanitizers and
                     # keeping every check; they never share .build/release.
                     if "--package-path Fuzz" not in m.group(0)]
    assert bypasses == []


def test_the_pattern_finds_the_direct_forms_it_guards_against():
    for text in ("swift build -c release --product x", "$(SWIFT) build -c release",
                 'subprocess.run(["swift", "build", "-c", "release"])'):
        assert DIRECT_RELEASE_BUILD.search(text), text
    for text in ("scripts/swift-build release", "swift build", "swift build --build-tests"):
        assert not DIRECT_RELEASE_BUILD.search(text), text


def test_every_release_builder_names_the_script():
    for builder in ("Makefile", "scripts/demo.sh", "scripts/soak.py", "bench/tracker", "bench/milter",
                    "bench/rewrite", "README.md"):
        assert "swift-build" in (REPO / builder).read_text(), builder
