"""Command-line errors are one readable line and a non-zero exit code, never a traceback."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from complaints.local.embedded import free_port


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
        (["nonsense-command"], {}, "error: No such command 'nonsense-command'."),
        (["act", "C1"], {}, "error: Missing argument 'action'."),
        (["classify", "--bogus"], {}, "error: No such option: --bogus"),
        (["case", "C20261124-5F1A9C03D2"], {}, "REDIS_URL is not set"),
        (["claim", "general"], {}, "REDIS_URL is not set"),
        (["lag"], {}, "KAFKA_BOOTSTRAP_SERVERS is not set"),
        (["act", "C1", "apologize", "--actor", "zhang.wei"], {}, "REDIS_URL is not set"),
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


# --- Redis or Kafka away: every command gives up in time, in one line ---------------------

TIMEOUT_S = "2"
#: Every command that talks to Redis or Kafka, and which of them it reaches first.
TALKING = [
    (["case", "C20261124-5F1A9C03D2"], "Redis"),
    (["queues"], "Redis"),
    (["claim", "general"], "Redis"),
    (["renew", "C20261124-5F1A9C03D2"], "Redis"),
    (["release", "C20261124-5F1A9C03D2"], "Redis"),
    (["complete", "C20261124-5F1A9C03D2"], "Redis"),
    (["act", "C20261124-5F1A9C03D2", "apologize", "--note", "电话致歉"], "Redis"),
    (["lag"], "Kafka"),
    (["publish", "EVENTS"], "Kafka"),
]


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung server, a firewall
    that lets the handshake through."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def _against(port: int, args: list[str], events: Path) -> subprocess.CompletedProcess[str]:
    args = [str(events) if a == "EVENTS" else a for a in args]
    return complaints(*args, REDIS_URL=f"redis://:secret@127.0.0.1:{port}/0",
                      KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", COMPLAINTS_HANDLER="zhang.wei",
                      COMPLAINTS_CLI_TIMEOUT_S=TIMEOUT_S)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "one.jsonl"
    path.write_text('{"event_id": "e1", "form_id": "F", "body": "停电"}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("args", "service"), TALKING, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else v)
def test_a_closed_port_is_one_line_naming_the_server(
    args: list[str], service: str, events: Path
) -> None:
    port = free_port()
    result = _against(port, args, events)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and f"{service} at 127.0.0.1:{port}" in line
    assert ("check REDIS_URL" if service == "Redis" else "check KAFKA_BOOTSTRAP_SERVERS") in line
    assert "secret" not in line


@pytest.mark.parametrize(("args", "service"), TALKING, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else v)
def test_a_server_that_never_answers_is_given_up_on(
    args: list[str], service: str, silent_port: int, events: Path
) -> None:
    result = _against(silent_port, args, events)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"error: {service} at 127.0.0.1:{silent_port} did not answer within {TIMEOUT_S} s; "
        f"check {'REDIS_URL' if service == 'Redis' else 'KAFKA_BOOTSTRAP_SERVERS'}"]
