"""A handler's desk against a real worker, fed by a hostile tester: notes and complaint
texts full of Rich markup and terminal escapes are shown as written by every desk
command, and `act` says in one line when Kafka is away."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from complaints.local.embedded import free_port
from complaints.normalise import case_id_for
from tests.harness import PipelineUnderTest

pytestmark = pytest.mark.broker

NOTE = "[/] \x1b]0;pwned\x07 [red]已致电[/red] \u202e反向"
SHOWN_NOTE = "[/] \\x1b]0;pwned\\x07 [red]已致电[/red] \\u202e反向"
BODY = "[/] 停电三天了\x1b[31m没人管\u202e [bold]电话13812345678[/bold] :fire:"
RAW_CONTROL = ("\x1b", "\x07", "\u202e")


def desk(pipeline: PipelineUnderTest, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "complaints", *args],
                          env={**os.environ, **pipeline.env(), "COLUMNS": "400", **env},
                          capture_output=True, text=True, timeout=120, check=False)


def shows_safely(result: subprocess.CompletedProcess[str]) -> str:
    assert "MarkupError" not in result.stderr, result.stderr
    assert not any(c in result.stdout + result.stderr for c in RAW_CONTROL)
    return result.stdout


def test_hostile_notes_and_texts_are_shown_as_written(pipeline: PipelineUnderTest) -> None:
    pipeline.start_worker()
    occurred = datetime.now(UTC)
    event = {"event_id": "hostile-1", "form_id": "F-1", "occurred_at": occurred.isoformat(),
             "body": BODY, "customer": {"area": "[bold]碧云小区\x1b[2J"}}
    pipeline.produce(pipeline.topics.intake_web,
                     [(b"hostile-1", json.dumps(event, ensure_ascii=False).encode())])
    case = case_id_for("web", "hostile-1", occurred)
    pipeline.wait_for(lambda: pipeline.redis.exists(f"{pipeline.prefix}:case:{case}") == 1,
                      90, f"case {case}")

    acted = desk(pipeline, "act", case, "acknowledge", "--actor", "zhang.wei", "--note", NOTE)
    assert acted.returncode == 0, acted.stderr
    assert "accepted" in shows_safely(acted)
    refused = desk(pipeline, "act", case, "close", "--actor", "zhang.wei", "--note", "[/]")
    assert refused.returncode == 1, refused.stderr
    assert "rejected" in shows_safely(refused)

    view = desk(pipeline, "case", case)
    assert view.returncode == 0, view.stderr
    assert SHOWN_NOTE in shows_safely(view)
    as_json = desk(pipeline, "case", case, "--json")
    assert NOTE in [e.get("note") for e in json.loads(shows_safely(as_json))["history"]]

    queue = json.loads(pipeline.redis.get(f"{pipeline.prefix}:case:{case}"))["queue"]
    claimed = desk(pipeline, "claim", queue, "--handler", "li.na")
    assert claimed.returncode == 0, claimed.stderr
    shown = shows_safely(claimed)
    assert "[/] 停电三天了" in shown and "[bold]电话138****5678[/bold]" in shown
    assert ":fire:" in shown and "13812345678" not in shown
    queues = desk(pipeline, "queues")
    assert queues.returncode == 0 and queue in shows_safely(queues)


def test_act_says_in_one_line_when_kafka_is_away(pipeline: PipelineUnderTest) -> None:
    case = "C20261124-0000000001"
    pipeline.redis.set(f"{pipeline.prefix}:case:{case}", "{}")  # `act` only asks if it exists
    port = free_port()
    result = desk(pipeline, "act", case, "apologize", "--actor", "zhang.wei",
                  KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", COMPLAINTS_CLI_TIMEOUT_S="2")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: cannot reach Kafka at 127.0.0.1:{port}; check KAFKA_BOOTSTRAP_SERVERS"]
