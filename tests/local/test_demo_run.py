"""`complaints run --demo` from a user's point of view: counts add up, nothing left running."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker


def _command_lines() -> list[str]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return lines


def test_demo_reads_every_event_dead_letters_exactly_the_malformed_and_cleans_up() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "REDIS_", "COMPLAINTS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "complaints", "run", "--demo", "--events", "500"],
        env={**env, "COLUMNS": "120"}, capture_output=True, text=True, timeout=180, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    def number(label: str) -> int:
        match = re.search(rf"{label}\s*:\s*(\d+)", output)
        assert match, f"{label!r} missing from:\n{output}"
        return int(match.group(1))

    made = re.search(r"generator made\s*:\s*(\d+) valid, (\d+) redelivered, (\d+) malformed",
                     output)
    assert made, output
    valid, redelivered, malformed = map(int, made.groups())
    assert number("events read") == 500
    assert valid + redelivered + malformed == 500
    assert malformed > 0 and redelivered > 0
    assert number("dead-lettered") == malformed
    assert number("complaints") == valid
    assert "in memory only" in output

    broker = re.search(r"Embedded broker (\S+):(\d+)", output)
    redis_url = re.search(r"Redis\S* redis://[\d.]+:(\d+)", output)
    assert broker and redis_url, output
    leftovers = [line for line in _command_lines()
                 if f"127.0.0.1:{broker.group(2)}" in line
                 or f"--port {redis_url.group(1)} " in line
                 or ("complaints worker" in line and "-m complaints" in line
                     and str(os.getpid()) in line)]
    assert leftovers == []


def test_run_refuses_demo_bounds_without_demo_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "complaints", "run", "--events", "5"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "add --demo" in result.stderr
