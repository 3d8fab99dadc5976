"""`complaints run` outlives its workers: one that exits (SIGKILL, or status 70 when a stage
stopped it unacknowledged) is started again after a backoff, the console says so, and the
embedded broker and Redis — and every case in them — stay up."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from complaints.agents.acknowledgements import STAGE_FAILED_EXIT
from complaints.local.generator import DemoGenerator, GeneratedEvent
from complaints.local.runner import RestartBackoff, describe_exit, log_tail
from complaints.messaging import admin as kafka
from complaints.schemas.topics import Topics
from complaints.settings import Settings
from tests.harness import expected_cases

EXPORT = re.compile(r"export KAFKA_BOOTSTRAP_SERVERS=(\S+) REDIS_URL=(\S+) "
                    r"COMPLAINTS_TOPIC_PREFIX=(\S+)")


# -- the restart policy -----------------------------------------------------------------
def test_restarts_back_off_exponentially_up_to_a_cap_and_start_over_after_a_stable_run(
) -> None:
    backoff = RestartBackoff(first_s=1, max_s=30, forgiven_after_s=60)
    assert [backoff.delay(up_for_s=2) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.delay(up_for_s=61) == 1  # it had been healthy: start over
    assert backoff.delay(up_for_s=5) == 2
    for _ in range(1000):  # a worker failing for days never overflows the backoff
        backoff.delay(up_for_s=0)
    assert backoff.delay(up_for_s=0) == 30


def test_an_exit_is_described_so_an_operator_knows_what_happened() -> None:
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert "status 70" in describe_exit(STAGE_FAILED_EXIT)
    assert "stage" in describe_exit(STAGE_FAILED_EXIT)
    assert describe_exit(1) == "exited with status 1"


def test_the_log_tail_shown_on_the_console_has_no_terminal_control_sequences(
        tmp_path: Path) -> None:
    log = tmp_path / "worker-0.log"
    log.write_bytes(b"first\n\x1b[?25h\nsecond \x1b[31mred\x1b[0m\n\nthird\n")
    assert log_tail(log, lines=2) == ["second red", "third"]
    assert log_tail(tmp_path / "missing.log") == []


# -- `complaints run` as a user runs it -------------------------------------------------
class RunningPipeline:
    """`complaints run` (no demo) in a subprocess, its console output collected."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KAFKA_", "REDIS_", "COMPLAINTS_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "complaints", "run"],
            env={**env, "COLUMNS": "400", "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()
        match = self.wait_for_output(EXPORT, "the export line")
        bootstrap, redis_url, prefix = match.groups()
        self.settings = Settings(kafka_bootstrap_servers=bootstrap, redis_url=redis_url,
                                 topic_prefix=prefix)
        self.topics = Topics.for_prefix(prefix)
        self.redis = redis.Redis.from_url(redis_url)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait(self, condition: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
        """Until `condition()` is truthy (its value is returned); fails if the run ends."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if result := condition():
                return result
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no {what}; `complaints run` said:\n{self.output()}")

    def wait_for_output(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        return self.wait(lambda: pattern.search(self.output()), what)

    def worker_pids(self) -> set[int]:
        """The `complaints worker` processes this run started."""
        pids = set()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                status = (proc / "status").read_text()
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parent = re.search(r"^PPid:\s+(\d+)$", status, re.MULTILINE)
            if parent and int(parent.group(1)) == self.process.pid \
                    and "-m complaints worker" in cmdline:
                pids.add(int(proc.name))
        return pids

    def publish(self, events: list[GeneratedEvent]) -> None:
        by_source = {"callcenter": self.topics.intake_callcenter, "web": self.topics.intake_web}

        async def send() -> None:
            producer = kafka.producer(self.settings)
            await producer.start()
            try:
                for event in events:
                    await producer.send(by_source[event.source], key=event.key,
                                        value=event.value)
                await producer.flush()
            finally:
                await producer.stop()

        asyncio.run(send())

    def routed_cases(self) -> set[str]:
        records = asyncio.run(kafka.read_all(self.settings, self.topics.routed))
        return {key.decode() for key, _ in records if key is not None}

    def wait_routed(self, events: list[GeneratedEvent], timeout_s: float = 180) -> None:
        expected = expected_cases(events)
        self.wait(lambda: self.routed_cases() >= expected,
                  f"routing decisions for all {len(expected)} cases", timeout_s)

    def stop(self) -> int:
        """SIGTERM, as `kill` or Ctrl-C would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.redis.close()


@pytest.fixture
def run_pipeline() -> Iterator[RunningPipeline]:
    running = RunningPipeline()
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGTERM)
            try:
                running.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                running.process.kill()


def events(run_id: str, count: int) -> list[GeneratedEvent]:
    return list(DemoGenerator(seed=len(run_id), malformed_share=0, duplicate_share=0,
                              run_id=run_id).events(count))


@pytest.mark.broker
@pytest.mark.timeout(400)
def test_a_killed_worker_is_restarted_and_the_pipeline_goes_on_with_its_cases(
        run_pipeline: RunningPipeline) -> None:
    run = run_pipeline
    before = events("before-kill", 50)
    run.publish(before)
    run.wait_routed(before)  # the worker is up and in its group
    (first,) = run.wait(run.worker_pids, "worker process")

    os.kill(first, signal.SIGKILL)
    run.wait_for_output(re.compile(r"worker 0 was killed by SIGKILL; restarting in \d+ s "
                                   r"\(restart 1\); log \S+worker-0\.log"), "restart line")
    (second,) = run.wait(lambda: run.worker_pids() - {first}, "a new worker process")
    run.wait_for_output(re.compile(rf"worker 0 started again \(pid {second}, restart 1\)"),
                        "started-again line")

    after = events("after-kill", 50)
    run.publish(after)
    run.wait_routed(after)
    # The servers stayed up: the cases routed before the kill are all still there.
    assert run.routed_cases() >= expected_cases(before)
    waiting = run.redis.hgetall(f"{run.settings.topic_prefix}:stats")
    assert int(waiting[b"intake.complaints"]) >= len(before) + len(after)

    assert run.stop() == 0
    assert "worker restarts: 1 (worker 0: 1)" in run.output()
    assert "all workers exited" not in run.output()
    assert run.worker_pids() == set()


@pytest.mark.broker
@pytest.mark.timeout(400)
def test_a_worker_stopped_by_a_failing_stage_is_restarted_until_it_can_work(
        run_pipeline: RunningPipeline) -> None:
    """Status 70: a stage stopped the worker with its batch unacknowledged (here: Redis
    refuses every write). Restarted, it gets the batch again and, once Redis takes
    writes, makes every complaint."""
    run = run_pipeline
    warmup = events("warm-up", 20)
    run.publish(warmup)
    run.wait_routed(warmup)

    run.redis.config_set("maxmemory", 1)  # every write now refused (OOM)
    refused = events("refused", 50)
    run.publish(refused)
    run.wait_for_output(re.compile(rf"worker 0 exited with status {STAGE_FAILED_EXIT} "
                                   r"\(a stage failed.*restarting in \d+ s \(restart 1\)"),
                        "status-70 restart line")
    run.redis.config_set("maxmemory", 0)

    run.wait_routed(refused)
    assert run.routed_cases() >= expected_cases(warmup)
    assert run.stop() == 0
    assert re.search(r"worker restarts: [1-9]", run.output())
