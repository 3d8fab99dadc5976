"""Intake stage: raw call-center and web events in; complaints and dead letters out.

Consumes `complaints.intake.callcenter.v1` and `complaints.intake.web.v1`.
Produces `complaints.classified.v1` (one CloudEvent per new complaint, keyed by case id),
`complaints.routed.v1` (its routing decision; the case is in its Redis work queue)
and `complaints.dlq.v1` (every input that cannot become a complaint, keyed by its
original key, with the reason and the original bytes).

Works in batches: decode each message at the edge, drop events Redis has already
seen, normalise, classify and route the rest (agents.classify, agents.route), publish,
wait for the broker to confirm, and only then remember the event ids and acknowledge
the inputs — so a crash anywhere leads to redelivery, never to a lost complaint, and a
redelivered event never makes a second one.

While one batch waits for the broker and Redis to confirm it, the next one is already
being classified and routed (one batch at most in flight). Its inputs stay
unacknowledged until it is confirmed, and its events count as seen meanwhile, so a
repeat in the next batch is still dropped. A batch that fails for a reason no retry
covers stops the worker with nothing of it acknowledged (`pipeline.acknowledgements`).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import faust

from complaints.agents.classify import classify_complaints
from complaints.agents.route import RouteDeps, route_complaints
from complaints.classifier import PackReloader
from complaints.normalise import mask_complaint, mask_personal_data, to_complaint
from complaints.pipeline.acknowledgements import hold, release, stop_unacknowledged
from complaints.pipeline.codec import Decoded, dead_letter, decode_intake, encode_cloudevent
from complaints.pipeline.kafka import OutboundRecords
from complaints.pipeline.metrics import DEAD_LETTERED, STAGE_EVENTS
from complaints.pipeline.store import RecentCases, RedisBatch, SeenEvents, StageCounters
from complaints.schemas.complaint import Complaint
from complaints.schemas.envelope import (
    COMPLAINT_CLASSIFIED_TYPE,
    DEAD_LETTER_TYPE,
    ROUTING_DECIDED_TYPE,
)
from complaints.schemas.routing import RoutingDecision

log = logging.getLogger(__name__)


@dataclass
class IntakeDeps:
    """What the intake stage talks to; built once per worker by `pipeline.app`."""

    intake: faust.TopicT
    classified: faust.TopicT
    routed: faust.TopicT
    dead_letter: faust.TopicT
    source_by_topic: dict[str, str]
    seen: SeenEvents
    counters: StageCounters
    reloader: PackReloader
    route: RouteDeps
    recent: RecentCases
    batch_size: int
    batch_window_s: float
    #: Mask phone and ID-card numbers in published complaints (`mask_outbound_pii`).
    mask_outbound_pii: bool = False


def attach(app: faust.App, deps: IntakeDeps) -> None:
    """Register the intake agent on `app`."""
    @app.agent(deps.intake, name="intake_events")
    async def intake_events(stream: faust.StreamT) -> None:
        in_flight: list[tuple[asyncio.Future[None], PublishedBatch]] = []
        try:
            async for batch in stream.take_events(deps.batch_size, within=deps.batch_window_s):
                hold(batch)  # acknowledged once confirmed, not when taken
                try:
                    published = await publish_batch(batch, deps)
                except Exception as exc:
                    stop_unacknowledged("intake", len(batch), exc)
                in_flight.append((asyncio.ensure_future(
                    _acknowledged(published, batch, stream, deps)), published))
                while len(in_flight) > 1:  # one batch confirms while the next is worked
                    await in_flight.pop(0)[0]
        finally:
            for confirming, published in in_flight:
                confirming.cancel()
                published.give_up(deps)  # its inputs are redelivered; repeats are dropped


async def _acknowledged(published: "PublishedBatch", batch: Sequence[faust.EventT],
                        stream: faust.StreamT, deps: IntakeDeps) -> None:
    """Acknowledge a batch's inputs once it is confirmed."""
    try:
        await published.confirm(deps)
    except Exception as exc:
        stop_unacknowledged("intake", len(batch), exc)
    await release(stream, batch)


async def publish_batch(batch: Sequence[faust.EventT], deps: IntakeDeps) -> "PublishedBatch":
    """Decode, de-duplicate, normalise, classify, route and publish one batch of raw
    events; what is left before its inputs may be acknowledged is returned."""
    now = datetime.now(UTC)
    out = OutboundRecords.of(deps.classified.app)
    accepted: list[tuple[str, Decoded]] = []
    counts: Counter[str] = Counter({"intake.read": len(batch)})
    for event in batch:
        message = event.message
        result = decode_intake(event.value, deps.source_by_topic[message.topic])
        if isinstance(result, Decoded):
            accepted.append((deps.seen.key(result.source, result.event.event_id), result))
            continue
        letter = dead_letter(result, event.value, message.key, message.topic,
                             message.partition, message.offset, now)
        log.info("dead-lettered %s:%s@%s: %s (%s)", message.topic, message.partition,
                 message.offset, letter.reason, mask_personal_data(letter.error))
        DEAD_LETTERED.labels(letter.reason.value).inc()
        counts["intake.dead_lettered"] += 1
        await out.add(
            deps.dead_letter, message.key,
            encode_cloudevent(
                DEAD_LETTER_TYPE,
                f"dlq:{message.topic}:{message.partition}:{message.offset}",
                letter,
                time=now,
            ),
        )

    fresh = await _unseen(accepted, deps.seen)
    counts["intake.duplicate"] = len(accepted) - len(fresh)
    complaints = classify_complaints(
        [to_complaint(d.event, d.source, now) for d in fresh.values()], deps.reloader
    )
    # Routing starts first and waits on Redis while the classified events are written.
    routing = asyncio.ensure_future(route_complaints(complaints, deps.route))
    try:
        await asyncio.sleep(0)  # routing sends its first request to Redis
        for complaint in complaints:
            await out.add(
                deps.classified, complaint.case_id.encode(),
                encode_cloudevent(COMPLAINT_CLASSIFIED_TYPE,
                                  f"{complaint.case_id}.classified",
                                  mask_complaint(complaint) if deps.mask_outbound_pii
                                  else complaint, subject=complaint.case_id, time=now),
            )
        sends = await out.send()  # on their way while routing finishes
    except BaseException:
        routing.cancel()
        raise
    decisions = await routing
    for decision in decisions:
        await out.add(
            deps.routed, decision.case_id.encode(),
            encode_cloudevent(ROUTING_DECIDED_TYPE, f"{decision.case_id}.routed",
                              decision, subject=decision.case_id, time=now),
        )
    sends += await out.send()
    case_by_key = {key: c.case_id for key, c in zip(fresh, complaints, strict=True)}
    deps.seen.publishing(case_by_key)
    return PublishedBatch(sends, case_by_key, complaints, decisions, counts)


@dataclass
class PublishedBatch:
    """A batch whose outputs are on their way to the broker: its events count as seen
    until it is confirmed (or given up), then its inputs may be acknowledged."""

    sends: list[asyncio.Future[object]]
    case_by_key: dict[str, str]
    complaints: list[Complaint]
    decisions: Sequence[RoutingDecision]
    counts: Counter[str]

    async def confirm(self, deps: IntakeDeps) -> None:
        """Once the broker has every output: remember the events, count the batch."""
        try:
            await asyncio.gather(*self.sends)  # the broker has every output first
            counts, complaints, decisions = self.counts, self.complaints, self.decisions
            counts["intake.complaints"] = len(complaints)
            counts["classify.classified"] = len(complaints)
            counts["route.routed"] = len(decisions)
            counts.update(f"route.queue.{d.queue}" for d in decisions)
            for c in complaints:
                if c.classification is not None:
                    counts[f"classify.category.{c.classification.category}"] += 1
                    counts[f"classify.kind.{c.classification.kind}"] += 1
            done = RedisBatch(deps.seen.client)  # one round trip, in this order
            deps.seen.remember_in(done, self.case_by_key)
            deps.counters.add_in(done, counts)
            deps.recent.add_in(done, [d.case_id for d in decisions])
            await done.run("remembering seen events and counting")
        finally:
            self.give_up(deps)
        _count_metrics(counts, complaints)

    def give_up(self, deps: IntakeDeps) -> None:
        """Redis answers for these events again: remembered, or to be made again when
        they are redelivered (harmless after `confirm`)."""
        deps.seen.published(self.case_by_key)


async def _unseen(
    accepted: list[tuple[str, Decoded]], seen: SeenEvents
) -> dict[str, Decoded]:
    """Events neither accepted before nor repeated earlier in this batch, by seen-key."""
    flags = await seen.which_seen([key for key, _ in accepted])
    fresh: dict[str, Decoded] = {}
    for (key, decoded), was_seen in zip(accepted, flags, strict=True):
        if not was_seen and key not in fresh:
            fresh[key] = decoded
    return fresh


def _count_metrics(counts: Counter[str], complaints: list[Complaint]) -> None:
    STAGE_EVENTS.labels("intake", "in").inc(counts["intake.read"])
    STAGE_EVENTS.labels("intake", "out").inc(counts["intake.complaints"])
    STAGE_EVENTS.labels("intake", "dead_lettered").inc(counts["intake.dead_lettered"])
    STAGE_EVENTS.labels("intake", "duplicate").inc(counts["intake.duplicate"])
    STAGE_EVENTS.labels("classify", "out").inc(len(complaints))
    STAGE_EVENTS.labels("route", "out").inc(counts["route.routed"])
