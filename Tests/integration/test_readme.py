"""README.md is for mail administrators: its configuration table must list every
parameter with the default the programs really use."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.needs_mailtrail
def test_configuration_table_matches_the_programs(binaries):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/readme-parameters.py"), "--check", "--binary", str(binaries.path("mailtrail"))],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_states_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
