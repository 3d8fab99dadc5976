"""End-to-end benchmark: one pipeline worker against a Faust agent that only forwards.

    complaints bench [--quick]

On the embedded broker and Redis, in one run:

1. **baseline** — a Faust agent that forwards every event to another topic
   (`forward_app.py`): the ceiling of one Faust worker on this machine;
2. **throughput** — one intake worker (`COMPLAINTS_STAGES=intake`) turning the same
   number of realistic call-center and web events into classified, routed complaints
   (intake → classified → routed, Redis work queues included), with the recovery stage
   in a worker of its own beside it on the same machine; and, from the same run, the rate
   until that worker has opened every case too (it consumes `routed`). This is the
   headline (`throughput_eps`, `ratio`, `cases_eps`);
3. **one worker running every stage** — the same two figures for a single
   `complaints worker` that also opens the cases (`all_stages_*`): its stages share one
   core, so its case-opening rate is what it sustains;
4. **latency** — publish → routing decision, p50/p95/p99, at fixed publish rates, one
   worker running every stage;
5. **two workers** — throughput with two worker processes running every stage in one
   consumer group.

Throughput is measured from the broker's record timestamps of the outputs (first to
last), so worker start-up and group joins are not counted for either side. Each process
first handles a set of warm-up events (other ids, the same kind of text) that are not
counted, so both sides are measured in their steady state: a long-running worker has
its caches (text segments, routing and SLA look-ups) filled. The verdict
is the ratio pipeline / baseline; absolute numbers vary with the machine, and so does
the machine's load from one minute to the next: the baseline and the pipeline runs are
taken in rounds, one right after the other, and the figures reported are the medians
(each round's figures are printed and in the JSON too). A human summary is printed,
then one line of JSON.
"""

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from aiokafka import TopicPartition
from rich.console import Console
from rich.table import Table

from complaints.local.embedded import EmbeddedServices, die_with_parent
from complaints.local.generator import DemoGenerator, GeneratedEvent
from complaints.local.runner import WorkerProcess, worker_env
from complaints.messaging import admin as kafka
from complaints.messaging.codec import Decoded, decode_intake
from complaints.normalise import case_id_for
from complaints.schemas.topics import Topics
from complaints.settings import Settings


@dataclass(frozen=True)
class Plan:
    events: int
    rates: tuple[int, ...]
    rate_seconds: float
    #: Baseline / one-worker pairs; the medians are reported.
    rounds: int
    #: Events each process handles before the measured ones (not counted).
    warm_up: int

    @classmethod
    def of(cls, quick: bool) -> "Plan":
        if quick:
            return cls(events=5_000, rates=(200, 500), rate_seconds=10, rounds=3,
                       warm_up=1_000)
        return cls(events=20_000, rates=(200, 500, 1_000), rate_seconds=20, rounds=3,
                   warm_up=2_000)


@dataclass(frozen=True)
class Latency:
    rate: int
    events: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    #: The slowest event: a stall of the worker shows here first.
    max_ms: float


@dataclass(frozen=True)
class Round:
    """One round's throughputs (events/s), taken one right after the other."""

    baseline: float
    #: One intake worker (intake → classified → routed) beside one recovery worker:
    #: routed, and until the recovery worker has opened every case.
    intake: float
    intake_cases: float
    #: One worker running every stage: routed, and until every case is opened.
    all_stages: float
    all_stages_cases: float

    def figures(self) -> dict[str, float]:
        return {"baseline_eps": round(self.baseline),
                "throughput_eps": round(self.intake),
                "ratio": round(self.intake / self.baseline, 3),
                "cases_eps": round(self.intake_cases),
                "cases_ratio": round(self.intake_cases / self.baseline, 3),
                "all_stages_eps": round(self.all_stages),
                "all_stages_ratio": round(self.all_stages / self.baseline, 3),
                "all_stages_cases_eps": round(self.all_stages_cases),
                "all_stages_cases_ratio": round(self.all_stages_cases / self.baseline, 3)}


class Bench:
    """One benchmark run on one pair of embedded servers."""

    def __init__(self, services: EmbeddedServices, workdir: Path, console: Console) -> None:
        self.services = services
        self.workdir = workdir
        self.console = console
        self._runs = 0

    def settings(self) -> Settings:
        self._runs += 1
        prefix = f"bench{self._runs}"
        return Settings(kafka_bootstrap_servers=self.services.bootstrap_servers,
                        redis_url=self.services.redis_url, topic_prefix=prefix,
                        app_id=f"complaints-{prefix}")

    # -- the pieces -------------------------------------------------------------------
    def forward_baseline(self, warm: list[GeneratedEvent], events: list[GeneratedEvent]
                         ) -> float:
        settings = self.settings()
        source, target = f"{settings.topic_prefix}.in", f"{settings.topic_prefix}.out"
        asyncio.run(kafka.create_topics(settings, [source, target]))
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.services.bootstrap_servers,
               "BENCH_SOURCE": source, "BENCH_TARGET": target,
               "BENCH_GROUP": f"forward-{settings.topic_prefix}"}
        proc = _start(["-m", "complaints_bench.forward_app"], env, self.workdir / "forward.log")
        try:
            asyncio.run(_produce(settings, [(source, e.key, e.value) for e in warm]))
            asyncio.run(_wait_outputs(settings, target, len(warm)))
            asyncio.run(_produce(settings, [(source, e.key, e.value) for e in events]))
            return asyncio.run(_output_rate(settings, target, len(events), after=len(warm)))
        finally:
            proc.stop()

    def pipeline_throughput(self, warm: list[GeneratedEvent], events: list[GeneratedEvent],
                            stages: Sequence[str]) -> tuple[float, float]:
        """(routed events/s, cases opened/s) with one worker per entry of `stages` (what
        each runs: `all`, `intake` or `recovery`): the first counts intake → routed, the
        second until the recovery stage has opened every case too."""
        settings = self.settings()
        topics = Topics.for_prefix(settings.topic_prefix)
        asyncio.run(kafka.create_topics(settings, topics.all()))
        by_source = topics_by_source(topics)
        procs = [self.worker(settings, f"throughput-{'-'.join(stages)}-{i}", stage)
                 for i, stage in enumerate(stages)]
        try:
            # Every worker in the group first (a join while the others work stops them
            # all for a rebalance, which the first-to-last span would count), then the
            # warm-up events, then the measured ones: the workers take them as they
            # arrive.
            _wait_ready(procs)
            asyncio.run(_produce(settings, [(by_source[e.source], e.key, e.value)
                                            for e in warm]))
            _wait_opened(settings, self.services.redis_url, len(warm))
            asyncio.run(_produce(settings, [(by_source[e.source], e.key, e.value)
                                            for e in events]))
            opened_at = _wait_opened(settings, self.services.redis_url, len(warm) + len(events))
            stamps = asyncio.run(_stamps(settings, topics.routed, len(events), len(warm)))
            routed = (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1000, 1e-3)
            return routed, len(events) / max(opened_at - stamps[0] / 1000, 1e-3)
        finally:
            for proc in procs:
                proc.stop()

    def latencies(self, plan: Plan) -> list[Latency]:
        settings = self.settings()
        topics = Topics.for_prefix(settings.topic_prefix)
        asyncio.run(kafka.create_topics(settings, topics.all()))
        proc = self.worker(settings, "latency")
        try:
            warm = DemoGenerator(seed=99, malformed_share=0, duplicate_share=0, run_id="warm")
            asyncio.run(_paced(settings, topics, list(warm.events(200)), rate=200))
            asyncio.run(_wait_outputs(settings, topics.routed, 200))
            results = []
            for rate in plan.rates:
                generator = DemoGenerator(seed=rate, malformed_share=0, duplicate_share=0,
                                          run_id=f"rate{rate}")
                events = list(generator.events(int(rate * plan.rate_seconds)))
                sent = asyncio.run(_paced(settings, topics, events, rate))
                results.append(asyncio.run(_latency(settings, topics.routed, sent, rate)))
            return results
        finally:
            proc.stop()

    def worker(self, settings: Settings, name: str, stages: str = "all") -> WorkerProcess:
        env = worker_env(self.services.bootstrap_servers, self.services.redis_url, settings)
        env["COMPLAINTS_APP_ID"] = settings.app_id
        env["COMPLAINTS_STAGES"] = stages
        return WorkerProcess(env, self.workdir / f"worker-{name}.log").start()


def topics_by_source(topics: Topics) -> dict[str, str]:
    return {"callcenter": topics.intake_callcenter, "web": topics.intake_web}


class _Child(WorkerProcess):
    """A benchmark helper process (the baseline forwarder) with a worker's lifecycle."""


def _start(args: list[str], env: dict[str, str], log_path: Path) -> WorkerProcess:
    import subprocess
    import sys

    proc = _Child(env, log_path)
    with log_path.open("ab") as log:
        proc.process = subprocess.Popen([sys.executable, *args], env={**os.environ, **env},
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    return proc


def _wait_ready(procs: list[WorkerProcess], timeout_s: float = 180) -> None:
    """Until every worker's `/ready` says yes: in the group, partitions assigned, no
    rebalance under way, Redis answering."""
    deadline = time.monotonic() + timeout_s
    waiting = list(procs)
    while waiting:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(waiting)} worker(s) not ready after {timeout_s}s")
        if not all(proc.alive() for proc in procs):
            raise RuntimeError("a worker exited; see its log")
        port = waiting[0].env["COMPLAINTS_WEB_PORT"]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as reply:
                if reply.status == 200:
                    waiting.pop(0)
                    continue
        except OSError:  # not listening yet, or 503: not ready
            pass
        time.sleep(0.25)


async def _produce(settings: Settings, records: Iterable[tuple[str, bytes | None, bytes]]) -> None:
    producer = kafka.producer(settings, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


async def _partitions(settings: Settings, topic: str) -> tuple[Any, list[TopicPartition]]:
    consumer = kafka.reader(settings)
    await consumer.start()
    await consumer.topics()  # fetches the cluster's metadata afresh
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    return consumer, tps


async def _wait_outputs(settings: Settings, topic: str, count: int,
                        timeout_s: float = 600) -> None:
    consumer, tps = await _partitions(settings, topic)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if sum((await kafka.end_offsets(consumer, tps)).values()) >= count:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"only part of {count} outputs on {topic} after {timeout_s}s")
    finally:
        await consumer.stop()


async def _timestamps(settings: Settings, topic: str, count: int) -> list[tuple[bytes, int]]:
    """(key, broker timestamp ms) of the first `count` records of `topic`."""
    await _wait_outputs(settings, topic, count)
    consumer, tps = await _partitions(settings, topic)
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        stamps: list[tuple[bytes, int]] = []
        while len(stamps) < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not batch:
                break
            for messages in batch.values():
                stamps.extend((m.key or b"", m.timestamp) for m in messages)
        return stamps
    finally:
        await consumer.stop()


async def _stamps(settings: Settings, topic: str, count: int, after: int = 0) -> list[int]:
    """Broker timestamps (ms), in order, of `count` records of `topic` after the first
    `after` (the warm-up's, all written before)."""
    found = sorted(ts for _, ts in await _timestamps(settings, topic, after + count))
    return found[after:]


async def _output_rate(settings: Settings, topic: str, count: int, after: int = 0) -> float:
    stamps = await _stamps(settings, topic, count, after)
    span_s = max((stamps[-1] - stamps[0]) / 1000, 1e-3)
    return (len(stamps) - 1) / span_s


def _wait_opened(settings: Settings, redis_url: str, count: int,
                 timeout_s: float = 600) -> float:
    """Wait until the recovery stage has opened `count` cases; when it had (epoch s)."""
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            opened = int(client.hget(f"{settings.topic_prefix}:stats", "recovery.opened") or 0)
            if opened >= count:
                return time.time()
            time.sleep(0.02)
        raise TimeoutError(f"only {opened} of {count} cases opened after {timeout_s}s")
    finally:
        client.close()


async def _paced(settings: Settings, topics: Topics, events: list[GeneratedEvent],
                 rate: int) -> dict[bytes, float]:
    """Publish at `rate` events/s; case id → send time (ms since epoch)."""
    by_source = topics_by_source(topics)
    producer = kafka.producer(settings)
    await producer.start()
    sent: dict[bytes, float] = {}
    try:
        started = time.monotonic()
        for index, event in enumerate(events):
            due = started + index / rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            sent[_case_key(event)] = time.time() * 1000
            await producer.send(by_source[event.source], key=event.key, value=event.value)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def _case_key(event: GeneratedEvent) -> bytes:
    decoded = decode_intake(event.value, event.source)  # type: ignore[arg-type]
    assert isinstance(decoded, Decoded)
    return case_id_for(decoded.source, decoded.event.event_id,
                       decoded.event.occurred_at).encode()


async def _latency(settings: Settings, topic: str, sent: dict[bytes, float],
                   rate: int) -> Latency:
    consumer, tps = await _partitions(settings, topic)
    try:
        await _wait_outputs(settings, topic, 0)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[float] = []
        deadline = time.monotonic() + 120
        while len(found) < len(sent) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for messages in batch.values():
                found.extend(m.timestamp - sent[m.key] for m in messages if m.key in sent)
    finally:
        await consumer.stop()
    cuts = statistics.quantiles(found, n=100, method="inclusive")
    return Latency(rate, len(found), round(cuts[49], 1), round(cuts[94], 1), round(cuts[98], 1),
                   round(max(found), 1))


def run(quick: bool, console: Console | None = None) -> dict[str, Any]:
    """The whole benchmark; returns the figures (also printed)."""
    console = console or Console()
    plan = Plan.of(quick)
    events = list(DemoGenerator(seed=5, malformed_share=0, duplicate_share=0,
                                run_id="tp").events(plan.events))
    warm = list(DemoGenerator(seed=6, malformed_share=0, duplicate_share=0,
                              run_id="warm").events(plan.warm_up))
    workdir = Path(tempfile.mkdtemp(prefix="complaints-bench-"))
    with EmbeddedServices(workdir) as services:
        bench = Bench(services, workdir, console)
        console.print(f"{plan.events:,} events per throughput run; logs in {workdir}")
        rounds: list[Round] = []
        for n in range(1, plan.rounds + 1):
            baseline = bench.forward_baseline(warm, events)
            one, cases = bench.pipeline_throughput(warm, events, ["all"])
            split, split_cases = bench.pipeline_throughput(warm, events, ["intake", "recovery"])
            rounds.append(Round(baseline, split, split_cases, one, cases))
            console.print(f"round {n}: baseline (Faust forward agent) {baseline:,.0f} "
                          f"events/s; intake worker beside a recovery worker {split:,.0f} "
                          f"events/s routed (ratio {split / baseline:.2f}), cases opened "
                          f"{split_cases:,.0f}/s; one worker running every stage "
                          f"{one:,.0f} events/s routed (ratio {one / baseline:.2f}), "
                          f"cases opened {cases:,.0f}/s")
        latencies = bench.latencies(plan)
        two, two_cases = bench.pipeline_throughput(warm, events, ["all", "all"])
        console.print(f"pipeline, two workers: {two:,.0f} events/s routed, cases opened "
                      f"{two_cases:,.0f}/s")

    per_round = [r.figures() for r in rounds]
    figures: dict[str, Any] = {
        "configuration": "one intake worker (intake → classified → routed) beside one "
                         "recovery worker; all_stages_*: one worker running every stage",
        **{name: _median(name, [f[name] for f in per_round]) for name in per_round[0]},
        "rounds": per_round,
        "two_workers_eps": round(two),
        "two_workers_cases_eps": round(two_cases),
        "p99_ms": next((lat.p99_ms for lat in latencies if lat.rate == 500), None),
        "latency": [lat.__dict__ for lat in latencies],
        "events": plan.events,
        "warm_up_events": len(warm),
        "quick": quick,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
    }
    _summary(console, figures)
    print(json.dumps(figures, ensure_ascii=False))
    return figures


def _median(name: str, values: list[float]) -> float:
    """The median of the rounds' figure `name` (a ratio is each round's own ratio)."""
    found = statistics.median(values)
    return round(found, 3) if name.endswith("ratio") else round(found)


def _summary(console: Console, figures: dict[str, Any]) -> None:
    table = Table(title="end-to-end benchmark (intake → classified → routed)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rounds = len(figures["rounds"])
    table.add_row(f"baseline: Faust forward agent (median of {rounds})",
                  f"{figures['baseline_eps']:,} events/s")
    table.add_row(f"pipeline: one intake worker, intake → classified → routed, the "
                  f"recovery stage in a worker beside it (median of {rounds})",
                  f"{figures['throughput_eps']:,} events/s")
    table.add_row("ratio, median of the rounds' (target ≥ 0.5)", f"{figures['ratio']:.2f}")
    table.add_row("  … until the recovery worker has opened every case too",
                  f"{figures['cases_eps']:,} events/s ({figures['cases_ratio']:.2f})")
    table.add_row("one worker running every stage: routed (ratio)",
                  f"{figures['all_stages_eps']:,} events/s "
                  f"({figures['all_stages_ratio']:.2f})")
    table.add_row("  … until every case is opened too: what it sustains (ratio)",
                  f"{figures['all_stages_cases_eps']:,} events/s "
                  f"({figures['all_stages_cases_ratio']:.2f})")
    table.add_row("two workers running every stage: routed (cases opened)",
                  f"{figures['two_workers_eps']:,} ({figures['two_workers_cases_eps']:,}) "
                  f"events/s")
    for lat in figures["latency"]:
        table.add_row(f"latency at {lat['rate']}/s, one worker running every stage "
                      f"(p50 / p95 / p99 / max)",
                      f"{lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} / {lat['p99_ms']:.0f} / "
                      f"{lat['max_ms']:.0f} ms")
    console.print(table)
