"""`/ready` tells an orchestrator the truth about the broker: ready while it answers, not
ready while it is away (Faust alone keeps its partitions and looked ready), ready again
once it is back."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness import PipelineUnderTest, pipeline_on_own_servers

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]


def ready(port: str) -> tuple[int, dict[str, Any]] | None:
    """(status, body) of `/ready`, or None while the web server does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


def wait_ready(pipeline: PipelineUnderTest, port: str,
               condition: Callable[[int, dict[str, Any]], bool], what: str,
               timeout_s: float = 120) -> dict[str, Any]:
    """Poll `/ready` until `condition(status, body)`; the body that met it."""
    deadline = time.monotonic() + timeout_s
    answer = None
    while time.monotonic() < deadline:
        answer = ready(port)
        if answer is not None and condition(*answer):
            return answer[1]
        time.sleep(0.5)
    raise AssertionError(f"/ready never showed {what}; last answer {answer}\n"
                         + pipeline.worker_logs())


def test_ready_is_false_while_the_broker_is_away_and_true_again_once_it_is_back(
        tmp_path: Path) -> None:
    with pipeline_on_own_servers(tmp_path) as pipeline:
        worker = pipeline.start_worker()
        port = worker.env["COMPLAINTS_WEB_PORT"]
        body = wait_ready(pipeline, port, lambda status, body: status == 200,
                          "ready with the broker up")
        assert body["checks"]["broker_answers"] is True

        broker = pipeline.services.broker
        broker.stop()
        body = wait_ready(pipeline, port, lambda status, body: status == 503,
                          "not ready without a broker")
        assert body["ready"] is False
        assert body["checks"]["broker_answers"] is False
        assert body["checks"]["redis_answers"] is True  # only the broker is away
        assert worker.alive()

        # Tansu keeps nothing: the broker comes back empty, on the same address.
        broker.start()
        broker.wait_listening(10)
        # The worker joins its group again on the new broker and gets its partitions back.
        body = wait_ready(pipeline, port, lambda status, body: status == 200,
                          "ready again with the broker back")
        assert body["checks"]["broker_answers"] is True
        assert worker.alive()
