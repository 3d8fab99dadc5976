"""`complaints run`: the whole pipeline on one machine, with live progress.

Starts the embedded broker and Redis (unless Kafka/Redis are configured), creates the
topics, starts worker processes — the same `complaints worker` used in production —
and, with `--demo`, feeds them realistic traffic from `DemoGenerator`. Everything it
started is stopped on exit, on Ctrl-C and on errors.

A worker that exits on its own — a crash, a SIGKILL, status 70 when a stage stopped it
with a batch unacknowledged — is restarted after a backoff, and the console says so. The
embedded broker and Redis keep everything in memory only, so they stay up whatever the
workers do: stopping them would lose every case. Only Ctrl-C (or SIGTERM) and the end of
the demo stop the run.
"""

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from complaints.agents.acknowledgements import STAGE_FAILED_EXIT
from complaints.local.embedded import EmbeddedServices, die_with_parent, free_port
from complaints.local.generator import DemoGenerator, Tally
from complaints.messaging import admin as kafka
from complaints.ops.lag import measure_lag
from complaints.schemas.topics import Topics
from complaints.settings import Settings


@dataclass
class WorkerProcess:
    """One `complaints worker` child process."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "complaints", "worker"],
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            start_new_session=True,  # Ctrl-C reaches `run`, which stops children in order
        )
        log_file.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, as far as Kafka and Redis can tell."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if the worker has not left its group in time."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


#: Wait before restarting a worker that exited: doubled at each exit that follows a
#: short run (1 s, 2 s, 4 s …), never longer than `RESTART_MAX_DELAY_S`.
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
#: A worker that stayed up this long was healthy: its next exit waits the first delay.
RESTART_FORGIVEN_AFTER_S = 60.0
#: Lines of an exited worker's log shown on the console.
LOG_TAIL_LINES = 5


@dataclass
class RestartBackoff:
    """Exponential backoff between restarts, forgotten once a worker has stayed up."""

    first_s: float = RESTART_FIRST_DELAY_S
    max_s: float = RESTART_MAX_DELAY_S
    forgiven_after_s: float = RESTART_FORGIVEN_AFTER_S
    exits: int = 0  # exits in a row, each after less than `forgiven_after_s` up

    def delay(self, up_for_s: float) -> float:
        """The wait before restarting a worker that exited after `up_for_s` seconds."""
        if up_for_s >= self.forgiven_after_s:
            self.exits = 0
        # min() first: 2 ** exits stays small however long a worker keeps failing.
        delay = min(self.first_s * 2 ** min(self.exits, 16), self.max_s)
        self.exits += 1
        return delay


def describe_exit(returncode: int) -> str:
    """How a worker ended, in words an operator can act on."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    if returncode == STAGE_FAILED_EXIT:
        return (f"exited with status {returncode} (a stage failed and stopped it, its batch "
                "unacknowledged)")
    return f"exited with status {returncode}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` non-empty lines of a log file (none if it cannot be read)."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(0, os.SEEK_END)
            log_file.seek(max(0, log_file.tell() - 16_384))
            text = log_file.read().decode(errors="replace")
    except OSError:
        return []
    # Faust writes terminal control sequences even to a file; they would garble the console.
    text = _CONTROL.sub("", text)
    return [line for line in text.splitlines() if line.strip()][-lines:]


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class SupervisedWorker:
    """One worker of `complaints run`, started again (after a backoff) whenever it exits."""

    index: int
    worker: WorkerProcess
    backoff: RestartBackoff = field(default_factory=RestartBackoff)
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)
    restart_at: float | None = None  # set while an exited worker waits for its restart

    def alive(self) -> bool:
        return self.worker.alive()

    def supervise(self, now: float, console: Console) -> None:
        """Notice an exit (and schedule the restart), or start a restart that is due."""
        process = self.worker.process
        if process is None or process.poll() is None:
            return
        if self.restart_at is None:
            delay = self.backoff.delay(now - self.started_at)
            self.restart_at = now + delay
            console.print(
                f"[yellow]worker {self.index} {describe_exit(process.returncode)}; "
                f"restarting in {delay:.0f} s (restart {self.restarts + 1})[/]; "
                f"log {escape(str(self.worker.log_path))}", highlight=False)
            for line in log_tail(self.worker.log_path):
                console.print(f"  [dim]{escape(line)}[/]", highlight=False)
        elif now >= self.restart_at:
            self.restarts += 1
            with self.worker.log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(f"--- complaints run: restart {self.restarts} of worker "
                               f"{self.index} ---\n")
            self.worker.start()
            self.started_at, self.restart_at = now, None
            assert self.worker.process is not None
            console.print(f"worker {self.index} started again (pid "
                          f"{self.worker.process.pid}, restart {self.restarts})",
                          highlight=False)


def worker_env(bootstrap: str, redis_url: str, settings: Settings) -> dict[str, str]:
    """Environment for a worker child: where the servers are, and a free web port."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis_url,
        "COMPLAINTS_TOPIC_PREFIX": settings.topic_prefix,
        "COMPLAINTS_PARTITIONS": str(settings.partitions),
        "COMPLAINTS_WEB_PORT": str(free_port()),
        "COMPLAINTS_LOG_LEVEL": "warn",
    }


@contextlib.contextmanager
def servers(settings: Settings) -> Iterator[tuple[str, str, bool]]:
    """(bootstrap, redis url, embedded?) — embedded ones when nothing is configured."""
    if settings.kafka_bootstrap_servers and settings.redis_url:
        yield settings.kafka_bootstrap_servers, settings.redis_dsn(), False
        return
    if settings.kafka_bootstrap_servers or settings.redis_url:
        settings.bootstrap_list()
        settings.redis_dsn()
    with EmbeddedServices() as services:
        yield services.bootstrap_servers, services.redis_url, True


@dataclass
class RunReport:
    """What a run did, for the closing summary."""

    published: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    tally: Tally | None = None
    elapsed_s: float = 0.0
    complete: bool = True
    restarts: int = 0  # worker restarts, all workers together
    #: Distinct dead letters on the topic at the end of a demo (the counter counts a
    #: letter again when a restarted worker dead-letters a redelivered event again).
    dead_letters: int | None = None

    def count(self, name: str) -> int:
        return self.counters.get(name, 0)


def run_pipeline(settings: Settings, *, demo: bool, events: int | None, duration_s: float | None,
                 workers: int, rate: float, console: Console) -> RunReport:
    """Run until the demo traffic is processed (or Ctrl-C without `--demo`)."""
    workdir = Path(tempfile.mkdtemp(prefix="complaints-run-"))
    with servers(settings) as (bootstrap, redis_url, embedded):
        if embedded:
            console.print(
                f"[bold]Embedded broker[/] {bootstrap} and [bold]Redis[/] {redis_url} — "
                "in memory only: everything is gone when this run stops."
            )
        run_settings = settings.model_copy(
            update={"kafka_bootstrap_servers": bootstrap, "redis_url": None})
        topics = Topics.for_prefix(settings.topic_prefix)
        kafka.run(kafka.create_topics(run_settings, topics.all()))
        procs = [
            SupervisedWorker(i, WorkerProcess(worker_env(bootstrap, redis_url, settings),
                                              workdir / f"worker-{i}.log").start())
            for i in range(workers)
        ]
        console.print(f"Started {workers} worker(s); logs in {workdir}")
        if not demo:
            console.print("Use it from another terminal (Ctrl-C here stops everything):\n"
                          f"  export KAFKA_BOOTSTRAP_SERVERS={bootstrap} REDIS_URL={redis_url}"
                          f" COMPLAINTS_TOPIC_PREFIX={settings.topic_prefix}", highlight=False)
        try:
            return asyncio.run(_drive(run_settings, redis_url, topics, procs, demo, events,
                                      duration_s, rate, console))
        finally:
            for proc in procs:
                proc.worker.stop()


async def _drive(settings: Settings, redis_url: str, topics: Topics,
                 procs: list[SupervisedWorker], demo: bool, events: int | None,
                 duration_s: float | None, rate: float, console: Console) -> RunReport:
    report = RunReport()
    stats = redis.Redis.from_url(redis_url)
    stats_key = f"{settings.topic_prefix}:stats"
    generator = DemoGenerator() if demo else None
    limit = events if events is not None else (None if duration_s else 2000)
    started = time.monotonic()
    deadline = started + duration_s if duration_s else None
    producer = kafka.producer(settings)
    await producer.start()
    by_source = {"callcenter": topics.intake_callcenter, "web": topics.intake_web}
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            publishing = generator is not None
            drained_at: float | None = None
            while True:
                now = time.monotonic()
                if publishing and generator is not None:
                    due = int((now - started) * rate) - report.published
                    if limit is not None:
                        due = min(due, limit - report.published)
                    for event in generator.events(max(due, 0)):
                        await producer.send(by_source[event.source], key=event.key,
                                            value=event.value)
                        report.published += 1
                    if (limit is not None and report.published >= limit) or (
                            deadline is not None and now >= deadline):
                        await producer.flush()
                        publishing = False
                        drained_at = time.monotonic()
                report.counters = {k.decode(): int(v)
                                   for k, v in stats.hgetall(stats_key).items()}
                report.elapsed_s = now - started
                for proc in procs:
                    proc.supervise(now, live.console)
                report.restarts = sum(p.restarts for p in procs)
                live.update(progress_view(report, procs, publishing, demo=demo))
                # An exited worker is restarted, never a reason to stop: the servers keep
                # the pipeline's state only while this run lasts.
                if demo and not publishing:
                    # Events redelivered after a restart are read (and counted) again, so
                    # the count alone may arrive early: every intake event must also be
                    # committed, which a worker does only once its outputs are safe.
                    if (report.count("intake.read") >= report.published
                            and await _intake_committed(settings, topics)):
                        break
                    if drained_at is not None and now - drained_at > 120:
                        report.complete = False
                        break
                await asyncio.sleep(0.1)
    finally:
        await producer.stop()
        stats.close()
        if not console.is_terminal:
            console.line()  # Live ends its last frame with a newline only on a terminal
        if report.restarts:
            console.print(f"worker restarts: {report.restarts} ("
                          + ", ".join(f"worker {p.index}: {p.restarts}" for p in procs
                                      if p.restarts) + ")", highlight=False)
    report.tally = generator.tally if generator else None
    if demo:
        letters = await kafka.read_all(settings, topics.dead_letter)
        report.dead_letters = len({json.loads(value)["id"] for _, value in letters})
    return report


async def _intake_committed(settings: Settings, topics: Topics) -> bool:
    """Whether the workers' group has committed every intake event."""
    intake = set(topics.intake())
    try:
        rows = await measure_lag(settings)
    except Exception:  # the broker is away for a moment: not known to be done
        return False
    return all(row.lag == 0 for row in rows if row.topic in intake)


def progress_view(report: RunReport, procs: list[SupervisedWorker],
                  publishing: bool, *, demo: bool = True) -> Group:
    """The live table: events per stage, dead-lettered, duplicates, rates."""
    elapsed = max(report.elapsed_s, 1e-6)
    table = Table(title="complaint pipeline", show_edge=False)
    table.add_column("stage")
    table.add_column("events", justify="right")
    table.add_column("per second", justify="right")
    rows = [
        ("published (demo generator)", report.published),
        ("intake: read", report.count("intake.read")),
        ("intake: complaints", report.count("intake.complaints")),
        ("intake: dead-lettered", report.count("intake.dead_lettered")),
        ("intake: duplicates dropped", report.count("intake.duplicate")),
        ("classify: classified", report.count("classify.classified")),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}", f"{value / elapsed:,.0f}")
    categories = sorted(
        ((k.split(".", 2)[2], v) for k, v in report.counters.items()
         if k.startswith("classify.category.")), key=lambda kv: -kv[1])
    cats = Table(title="by category", show_edge=False)
    cats.add_column("category")
    cats.add_column("complaints", justify="right")
    for name, value in categories[:8]:
        cats.add_row(name, f"{value:,}")
    alive = sum(p.alive() for p in procs)
    status = "publishing" if publishing else "draining" if demo else "running"
    footer = (f"{alive}/{len(procs)} workers up · {report.restarts} restart(s) · {status}"
              f" · {report.elapsed_s:.1f}s")
    return Group(table, cats, footer)
