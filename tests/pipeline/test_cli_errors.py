"""Command-line errors are one readable line and a non-zero exit code, never a traceback."""

import os
import subprocess
import sys

import pytest


def complaints(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("KAFKA_", "REDIS_", "COMPLAINTS_"))}
    return subprocess.run([sys.executable, "-m", "complaints", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["publish", "no-such-file.jsonl"], {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
         "no-such-file.jsonl: no such file"),
        (["worker"], {}, "KAFKA_BOOTSTRAP_SERVERS is not set"),
        (["worker"], {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "REDIS_URL is not set"),
        (["classify"], {}, "give either TEXT or --file FILE"),
        (["classify", "停电", "--rules", "/nonexistent/pack.yaml"], {}, "pack.yaml"),
        (["publish", "x.jsonl", "--source", "fax"], {}, "--source must be callcenter or web"),
        (["worker"], {"COMPLAINTS_PARTITIONS": "many"}, "invalid setting partitions"),
        (["nonsense-command"], {}, "No such command"),
    ],
)
def test_errors_are_one_line(args: list[str], env: dict[str, str], expected: str) -> None:
    result = complaints(*args, **env)
    assert result.returncode != 0
    message = result.stderr.strip()
    assert message.startswith("error: "), result.stderr
    assert "\n" not in message, result.stderr
    assert expected in message


def test_publish_names_the_bad_line(tmp_path) -> None:
    events = tmp_path / "bad.jsonl"
    events.write_text('{"event_id": "a", "form_id": "F", "body": "x"}\n{oops\n', encoding="utf-8")
    result = complaints("publish", str(events), KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert result.returncode == 2
    assert f"{events}:line 2: not JSON" in result.stderr
