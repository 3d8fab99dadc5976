"""Intake stage: raw call-center and web events in; complaints and dead letters out.

Reads the intake topics; writes `complaints.classified.v1` (one CloudEvent per new
complaint, keyed by case id), `complaints.routed.v1` (its routing decision; the case is
in its Redis work queue) and `complaints.dlq.v1` (every input that cannot become a
complaint, keyed by its original key, with the reason and the original bytes).

Per batch: decode each record at the edge, drop events Redis has already seen,
normalise, classify and route the rest, publish — and leave the agent a
`PublishedBatch` to confirm: only once the broker has every output are the event ids
remembered and the inputs acknowledged, so a crash leads to redelivery, never to a lost
complaint, and a redelivered event never makes a second one. Its events count as seen
while it is confirmed, so a repeat in the next batch is dropped.

An event whose content makes a step raise is dead-lettered (`processing_error`) and its
batch goes on without it (`stages.failures`). A reused event id whose content differs
from the first is dead-lettered (`conflicting_duplicate`), an identical redelivery
dropped; a text that normalisation empties is dead-lettered (`empty_text`).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from complaints.classifier import PackReloader
from complaints.messaging.codec import (
    Decoded,
    Rejection,
    content_sha256,
    dead_letter,
    dead_letter_id,
    dead_letter_key,
    decode_intake,
    encode_cloudevent,
)
from complaints.messaging.records import InboundRecord, OutboundRecords
from complaints.normalise import mask_complaint, mask_personal_data, to_complaint
from complaints.schemas.complaint import Complaint
from complaints.schemas.dead_letter import RejectReason
from complaints.schemas.envelope import (
    COMPLAINT_CLASSIFIED_TYPE,
    DEAD_LETTER_TYPE,
    ROUTING_DECIDED_TYPE,
)
from complaints.schemas.intake import EVENT_TIME_WINDOW
from complaints.schemas.routing import RoutingDecision
from complaints.stages.classify import classify_complaints
from complaints.stages.failures import isolating_poison
from complaints.stages.metrics import DEAD_LETTERED, STAGE_EVENTS
from complaints.stages.route import RouteDeps, route_complaints
from complaints.store.counters import RecentCases, StageCounters
from complaints.store.redis import RedisBatch
from complaints.store.seen import SeenEvents

log = logging.getLogger(__name__)


@dataclass
class IntakeDeps:
    """What the intake stage talks to; built once per worker by `pipeline.app`."""

    #: Output topic names.
    classified: str
    routed: str
    dead_letter: str
    #: Intake topic name → the source system whose events it carries.
    source_by_topic: dict[str, str]
    seen: SeenEvents
    counters: StageCounters
    reloader: PackReloader
    route: RouteDeps
    recent: RecentCases
    #: The worker's producer, as records packed per partition.
    outbound: Callable[[], Awaitable[OutboundRecords]]
    #: Mask phone and ID-card numbers in published complaints (`mask_outbound_pii`).
    mask_outbound_pii: bool = False
    #: How far from now an event's `occurred_at` may lie (`event_time_window_days`).
    time_window: timedelta = EVENT_TIME_WINDOW


async def publish_events(batch: Sequence[InboundRecord], deps: IntakeDeps) -> "PublishedBatch":
    """`publish_batch`, or — when an event's content made it raise — the batch's events
    one at a time, each one that still fails dead-lettered as `processing_error`.

    Raises only for failures of the infrastructure. Outputs a failed attempt already
    sent are sent again with the same ids (consumers drop repeats by id), and routing
    keeps a case's first decision, so nothing counts twice.
    """
    return PublishedBatch.merged(await isolating_poison(
        "intake", batch, lambda events: publish_batch(events, deps),
        lambda event, error: _poison(event, error, deps)))


async def _poison(record: InboundRecord, error: Exception, deps: IntakeDeps) -> "PublishedBatch":
    """Dead-letter one event whose content makes intake raise."""
    out = await deps.outbound()
    counts: Counter[str] = Counter({"intake.read": 1})
    await _dead_letter(out, record, Rejection.of_failure("intake", error), datetime.now(UTC),
                       deps, counts)
    return PublishedBatch(await out.send(), {}, [], [], counts)


async def publish_batch(batch: Sequence[InboundRecord], deps: IntakeDeps) -> "PublishedBatch":
    """Decode, de-duplicate, normalise, classify, route and publish one batch of raw
    events; what is left before its inputs may be acknowledged is returned."""
    now = datetime.now(UTC)
    out = await deps.outbound()
    accepted: list[_Accepted] = []
    counts: Counter[str] = Counter({"intake.read": len(batch)})
    for record in batch:
        result = decode_intake(record.value, deps.source_by_topic[record.topic],
                               now=now, time_window=deps.time_window)
        if isinstance(result, Decoded):
            accepted.append(_Accepted(record, deps.seen.key(result.source,
                                                            result.event.event_id),
                                      result, content_sha256(result.event)))
        else:
            await _dead_letter(out, record, result, now, deps, counts)

    fresh: list[_Accepted] = []
    complaints: list[Complaint] = []
    for item in await _new_events(accepted, deps, out, now, counts):
        complaint = to_complaint(item.decoded.event, item.decoded.source, now)
        if complaint.text_normalised:
            fresh.append(item)
            complaints.append(complaint)
        else:
            await _dead_letter(out, item.record, Rejection(
                RejectReason.EMPTY_TEXT, "the text is empty after normalisation (markup, "
                "spaces or invisible characters only)", item.decoded.event.event_id),
                now, deps, counts)
    complaints = classify_complaints(complaints, deps.reloader)
    # Routing starts first and waits on Redis while the classified events are encoded.
    # Nothing is handed to the producer before every step succeeded, so an event whose
    # content makes a step raise leaves no output behind (`publish_events`).
    routing = asyncio.ensure_future(route_complaints(complaints, deps.route))
    try:
        await asyncio.sleep(0)  # routing sends its first request to Redis
        classified = [
            encode_cloudevent(COMPLAINT_CLASSIFIED_TYPE, f"{complaint.case_id}.classified",
                              mask_complaint(complaint) if deps.mask_outbound_pii
                              else complaint, subject=complaint.case_id, time=now)
            for complaint in complaints]
    except BaseException:
        routing.cancel()
        raise
    decisions = await routing
    routed = [encode_cloudevent(ROUTING_DECIDED_TYPE, f"{decision.case_id}.routed", decision,
                                subject=decision.case_id, time=now) for decision in decisions]
    for complaint, value in zip(complaints, classified, strict=True):
        await out.add(deps.classified, complaint.case_id.encode(), value)
    for decision, value in zip(decisions, routed, strict=True):
        await out.add(deps.routed, decision.case_id.encode(), value)
    sends = await out.send()
    remembered = {item.key: (c.case_id, item.content)
                  for item, c in zip(fresh, complaints, strict=True)}
    deps.seen.publishing({item.key: item.content for item in fresh})
    return PublishedBatch(sends, remembered, complaints, decisions, counts)


@dataclass(frozen=True, slots=True)
class _Accepted:
    """A valid intake event, its seen-key and the hash of its content."""

    record: InboundRecord
    key: str
    decoded: Decoded
    content: str


async def _new_events(accepted: list[_Accepted], deps: IntakeDeps, out: OutboundRecords,
                      now: datetime, counts: Counter[str]) -> list[_Accepted]:
    """Events neither accepted before nor earlier in this batch, in order.

    A repeat with the content first accepted is a redelivery, dropped and counted as a
    duplicate. A repeat with other content is a reused id: dead-lettered as
    `conflicting_duplicate` with both hashes, so it is seen rather than lost.
    """
    earlier = await deps.seen.earlier([item.key for item in accepted])
    first: dict[str, _Accepted] = {}
    for item, before in zip(accepted, earlier, strict=True):
        if before is None and item.key not in first:
            first[item.key] = item
            continue
        original = before if before is not None else first[item.key].content
        if not original or original == item.content:  # "": remembered without a hash
            counts["intake.duplicate"] += 1
            continue
        counts["intake.conflicting_duplicate"] += 1
        await _dead_letter(out, item.record, Rejection(
            RejectReason.CONFLICTING_DUPLICATE,
            f"event id {item.decoded.event.event_id!r} was accepted before with other "
            "content", item.decoded.event.event_id, content_sha256=item.content,
            earlier_content_sha256=original), now, deps, counts)
    return list(first.values())


async def _dead_letter(out: OutboundRecords, record: InboundRecord, rejection: Rejection,
                       now: datetime, deps: IntakeDeps, counts: Counter[str]) -> None:
    """Queue the dead letter of one input; counted with its batch."""
    letter = dead_letter(rejection, record.value, record.key, record.topic,
                         record.partition, record.offset, now)
    log.info("dead-lettered %s:%s@%s: %s (%s)", record.topic, record.partition,
             record.offset, letter.reason, mask_personal_data(letter.error))
    counts["intake.dead_lettered"] += 1
    counts[f"intake.dead_lettered.{letter.reason}"] += 1
    await out.add(deps.dead_letter, dead_letter_key(record.key),
                  encode_cloudevent(DEAD_LETTER_TYPE, dead_letter_id(record), letter, time=now))


@dataclass
class PublishedBatch:
    """A batch whose outputs are on their way to the broker: its events count as seen
    until it is confirmed (or given up), then its inputs may be acknowledged."""

    sends: list[asyncio.Future[object]]
    #: seen-key → (case id, content hash) of every event that made a complaint
    remembered: dict[str, tuple[str, str]]
    complaints: list[Complaint]
    decisions: Sequence[RoutingDecision]
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def merged(cls, parts: Sequence["PublishedBatch"]) -> "PublishedBatch":
        """One batch of the parts a batch was worked in."""
        whole = cls([], {}, [], [], Counter())
        for part in parts:
            whole.sends += part.sends
            whole.remembered.update(part.remembered)
            whole.complaints += part.complaints
            whole.decisions = [*whole.decisions, *part.decisions]
            whole.counts.update(part.counts)
        return whole

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
            deps.seen.remember_in(done, self.remembered)
            deps.counters.add_in(done, counts)
            deps.recent.add_in(done, [d.case_id for d in decisions])
            await done.run("remembering seen events and counting")
        finally:
            self.give_up(deps)
        _count_metrics(counts)

    def give_up(self, deps: IntakeDeps) -> None:
        """Redis answers for these events again: remembered, or to be made again when
        they are redelivered (harmless after `confirm`)."""
        deps.seen.published(self.remembered)


def _count_metrics(counts: Counter[str]) -> None:
    STAGE_EVENTS.labels("intake", "in").inc(counts["intake.read"])
    STAGE_EVENTS.labels("intake", "out").inc(counts["intake.complaints"])
    STAGE_EVENTS.labels("intake", "dead_lettered").inc(counts["intake.dead_lettered"])
    STAGE_EVENTS.labels("intake", "duplicate").inc(counts["intake.duplicate"])
    STAGE_EVENTS.labels("classify", "out").inc(counts["classify.classified"])
    STAGE_EVENTS.labels("route", "out").inc(counts["route.routed"])
    prefix = "intake.dead_lettered."
    for name, count in counts.items():
        if name.startswith(prefix) and count:
            DEAD_LETTERED.labels(name.removeprefix(prefix)).inc(count)
