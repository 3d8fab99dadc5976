"""Operators' view in a real browser: the dashboard shows the numbers the CLI shows.

Headless Chromium (Debian's `chromium` package, installed by `.ci/run`) loads the
dashboard a running worker serves, runs its JavaScript, and the test reads the rendered
DOM. In CI the browser must be there; elsewhere the test is skipped with the reason.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.harness import REPO, PipelineUnderTest

pytestmark = pytest.mark.broker

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)


def chromium(url: str, tmp_path: Path, *extra: str) -> str:
    assert CHROMIUM, "CI must have Debian's chromium (see .ci/run)"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
         "--virtual-time-budget=5000", "--window-size=1400,1000", *extra, url],
        capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class DataCells(HTMLParser):
    """Collects the text of cells carrying `data-*` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str], str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs if k.startswith("data-")}
        self._open = found if tag == "td" and found else None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.cells.append((self._open, data.strip()))
            self._open = None


def cli_json(pipeline: PipelineUnderTest, *args: str) -> object:
    result = subprocess.run([sys.executable, "-m", "complaints", *args, "--json"],
                            env={**os.environ, **pipeline.env()}, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dashboard_numbers_match_the_cli_and_a_screenshot_is_taken(
    pipeline: PipelineUnderTest, tmp_path: Path,
) -> None:
    worker = pipeline.start_worker()
    port = worker.env["COMPLAINTS_WEB_PORT"]
    examples = sorted((REPO / "examples" / "events").glob("*.jsonl"))
    publish = subprocess.run([sys.executable, "-m", "complaints", "publish", *map(str, examples)],
                             env={**os.environ, **pipeline.env()}, capture_output=True,
                             text=True, timeout=60, check=False)
    assert publish.returncode == 0, publish.stderr
    total = int(re.search(r"published (\d+) events", publish.stdout).group(1))
    pipeline.wait_read(total)
    pipeline.wait_for(lambda: cli_json(pipeline, "lag")["groups"][pipeline.settings.app_id] == 0,
                      60, "lag to reach zero")

    dom = chromium(f"http://127.0.0.1:{port}/", tmp_path, "--dump-dom")
    parser = DataCells()
    parser.feed(dom)
    page_queues: dict[str, dict[str, int]] = {}
    page_stages: dict[str, int] = {}
    page_lag: dict[str, int] = {}
    page_case_states: dict[str, str] = {}
    for attrs, text in parser.cells:
        if "data-queue" in attrs:
            page_queues.setdefault(attrs["data-queue"], {})[attrs["data-field"]] = int(text)
        elif "data-stage" in attrs:
            page_stages[attrs["data-stage"]] = int(text)
        elif "data-lag" in attrs:
            page_lag[attrs["data-lag"]] = int(text)
        elif "data-case-state" in attrs:
            page_case_states[attrs["data-case-state"]] = text

    cli_queues = {row["queue"]: row for row in cli_json(pipeline, "queues")}
    assert page_queues, dom[-3000:]
    for queue, fields in page_queues.items():
        for field, value in fields.items():
            assert value == cli_queues[queue][field], (queue, field)
    assert {q for q, row in cli_queues.items() if row["depth"]} <= set(page_queues)
    assert sum(f["depth"] for f in page_queues.values()) > 0

    assert page_stages["intake.read"] == total
    assert page_stages["intake.complaints"] == pipeline.counters()["intake.complaints"]
    cli_lag = cli_json(pipeline, "lag")["topics"]
    assert page_lag == cli_lag
    assert len(page_case_states) == 20
    for case_id, state in list(page_case_states.items())[:3]:
        assert cli_json(pipeline, "case", case_id)["case"]["state"] == state

    screenshot = tmp_path / "dashboard.png"
    chromium(f"http://127.0.0.1:{port}/", tmp_path, f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("COMPLAINTS_SAVE_SCREENSHOT"):
        shutil.copy(screenshot, REPO / "docs" / "dashboard.png")


def test_worker_health_ready_and_metrics_endpoints(pipeline: PipelineUnderTest) -> None:
    worker = pipeline.start_worker()
    base = f"http://127.0.0.1:{worker.env['COMPLAINTS_WEB_PORT']}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    deadline = time.monotonic() + 60
    while get("/ready")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    status, body = get("/ready")
    assert status == 200, body
    assert json.loads(body)["checks"] == {"partitions_assigned": True, "redis_answers": True,
                                          "broker_answers": True}
    assert get("/health") == (200, '{"status":"ok"}')
    status, metrics = get("/metrics")
    assert status == 200
    for family in ("complaints_stage_events_total", "complaints_rule_pack_info",
                   "complaints_classification_seconds"):
        assert family in metrics
