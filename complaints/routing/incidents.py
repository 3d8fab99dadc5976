"""The mass-incident window rule as a pure function: the twin of the incident tracker.

In production the rule runs as Lua scripts in Redis (`complaints/store/lua/
incident_observe_fn.lua` and `incident_close.lua`, called by `IncidentTracker` in
`complaints.store.history`), so that however many workers race, an incident opens
exactly once. Lua in Redis is hard to read and to test case by case; this module says
the same rule in plain Python, over plain values, and
`tests/routing/test_incident_window_twin.py` runs random sequences of observations and
closes through both and requires the same answer after every step. Change one, change
the other: the test fails until they agree again.

The rule (docs/routing.md §6). Complaints that can form an incident are counted per
`IncidentKey` (category, area):

* **Counting.** A case that belongs to no incident is added to its key's window (a
  sorted set of case → contact time). The count is taken in the *fullest* span of W that
  holds the case's time, among the cases up to W before and after it — not simply "the
  last W minutes", because events arrive out of order (partitions, retries): the newest
  complaint may be read first, and K complaints within W must open an incident whatever
  order they are read in. Cases more than 2W before the case are forgotten.
* **Opening.** The case whose count reaches K (`threshold`) opens the incident under
  the id it proposes, with the owning desk and severity it brings (`incident_route`), and
  is its lead. The incident takes in every counted case within W of the lead, either
  side (`linked_case_ids`, in time order, then case id); the window starts empty.
* **Joining.** While an incident is open for a key, a later case joins it when its time
  is at most W after the incident's latest time (`last_at`, which a joining case moves
  on). A case beyond that ends the intake: a fresh count begins with it.
* **Redelivery.** A case already linked to an incident gets the same answer as the
  first time: the same incident, lead or not, whatever its key or time now. (A case that
  was only counted is counted again: its first time is kept, its answer is re-derived.)
* **Closing.** Cases close one by one (the recovery stage); the close of the last open
  linked case closes the incident and ends its intake. Closing a case that belongs to no
  incident does nothing and is not remembered.

Where the Lua (and therefore this twin, which copies it) departs from docs/routing.md,
pinned by strict xfail tests next to the twin's test until the script changes:

* `last_at` starts at the **lead's** time, not the latest time of the cases taken in: a
  case within W of a peer that was later than the lead (read out of order) but more than
  W after the lead does not join, and starts a fresh count;
* a case closed **before** an incident takes it in is not remembered as closed, so that
  incident never closes (docs: "the call that closes the last open case closes it").

Joining is one-sided (`at ≤ last_at + W`): a case delivered late with a contact time
before the incident's cases joins it however early it is — the docs' "while they arrive
within W minutes of its latest case" read as a deadline.

What the twin leaves out, because it is Redis housekeeping rather than the rule: key
expiry on the Redis clock (windows after 2W, links after `INCIDENT_RETENTION`), and the
operators' `incidents:open` set, which is the open incidents by opening time
(`open_incident_ids`). Times are compared in whole milliseconds, truncated as the
tracker truncates them (`to_ms`).
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal, TypeVar

from complaints.routing.decide import IncidentKey, IncidentMembership
from complaints.schemas.codes import Severity

K = TypeVar("K")
V = TypeVar("V")
IncidentStatus = Literal["open", "closed"]


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the tracker stores it (`{prefix}:incident:{id}` and its sets)."""

    incident_id: str
    key: IncidentKey
    status: IncidentStatus
    queue: str  # the owning desk, as the lead's routing proposed it
    severity: Severity
    lead_case_id: str
    opened_with: tuple[str, ...]  # the other cases taken in on opening, in window order
    opened_ms: int  # the `now` of the opening call
    last_at_ms: int  # the latest contact time the intake counts from (see module doc)
    case_ids: frozenset[str]
    closed_case_ids: frozenset[str] = frozenset()
    closed_ms: int | None = None


def _frozen(mapping: Mapping[K, V] | None = None) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class IncidentState:
    """Everything the rule remembers, for all keys (one Redis prefix). Immutable: every
    step returns a new state; the mappings are read-only views of fresh dicts."""

    #: per key, the counted cases not yet in an incident → contact time (ms); no empty ones
    windows: Mapping[IncidentKey, Mapping[str, int]] = field(default_factory=_frozen)
    #: per key, the incident currently taking in cases there
    taking_in: Mapping[IncidentKey, str] = field(default_factory=_frozen)
    incidents: Mapping[str, IncidentRecord] = field(default_factory=_frozen)
    #: every linked case → its incident (a case is in at most one)
    case_incident: Mapping[str, str] = field(default_factory=_frozen)

    def open_incident_ids(self) -> list[str]:
        """Open incidents, most recently opened first (ties: larger id first), as the
        tracker lists them for operators."""
        open_ = [i for i in self.incidents.values() if i.status == "open"]
        return [i.incident_id for i in sorted(
            open_, key=lambda i: (i.opened_ms, i.incident_id), reverse=True)]


@dataclass(frozen=True)
class CaseClosed:
    """What closing a linked case did (the fields of `store.history.Closing`)."""

    incident_id: str
    incident_closed: bool  # True only for the close that closed the incident


def to_ms(moment: datetime) -> int:
    """A time in whole milliseconds since the epoch, truncated as the tracker does."""
    return int(moment.timestamp() * 1000)


def duration_ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def observe(
    state: IncidentState, key: IncidentKey, case_id: str, received_at: datetime, *,
    threshold: int, window: timedelta, proposed_id: str, queue: str, severity: Severity,
    now: datetime,
) -> tuple[IncidentState, IncidentMembership | None]:
    """Count a case towards `key`: the state after it, and the incident it belongs to
    (None: none yet).

    Takes the arguments of `IncidentTracker.observe` (`store.history.Observation`) and
    answers what it answers; the module doc states the rule.
    """
    at, span = to_ms(received_at), duration_ms(window)

    # a case already linked: the same answer as the first time
    known = state.case_incident.get(case_id)
    if known is not None:
        return state, _membership(state.incidents[known], case_id)

    # an open incident here takes in cases up to W after its latest one
    open_id = state.taking_in.get(key)
    if open_id is not None:
        incident = state.incidents.get(open_id)
        if incident is not None and incident.status == "open" \
                and at <= incident.last_at_ms + span:
            incident = replace(incident, case_ids=incident.case_ids | {case_id},
                               last_at_ms=max(incident.last_at_ms, at))
            return replace(
                state, incidents=_with(state.incidents, open_id, incident),
                case_incident=_with(state.case_incident, case_id, open_id),
            ), _membership(incident, case_id)
        state = replace(state, taking_in=_without(state.taking_in, key))

    # count the case (its first time stays) and forget cases more than 2W before it
    counted = {case_id: at, **state.windows.get(key, {})}
    counted = {case: t for case, t in counted.items() if t >= at - 2 * span}
    near = sorted((t, case) for case, t in counted.items() if at - span <= t <= at + span)
    count = fullest_span([t for t, _ in near], at, span)
    if count < threshold:
        windows = _with(state.windows, key, _frozen(counted)) if counted \
            else _without(state.windows, key)
        return replace(state, windows=windows), None

    # the K-th case: open the incident with every counted case within W of this one
    peers = [case for _, case in near]
    earlier = state.incidents.get(proposed_id)  # only if an id is proposed twice
    incident = IncidentRecord(
        incident_id=proposed_id, key=key, status="open", queue=queue, severity=severity,
        lead_case_id=case_id, opened_with=tuple(p for p in peers if p != case_id),
        opened_ms=to_ms(now), last_at_ms=at,
        case_ids=frozenset(peers) | (earlier.case_ids if earlier else frozenset()),
        closed_case_ids=earlier.closed_case_ids if earlier else frozenset(),
        closed_ms=earlier.closed_ms if earlier else None,
    )
    return IncidentState(
        windows=_without(state.windows, key),
        taking_in=_with(state.taking_in, key, proposed_id),
        incidents=_with(state.incidents, proposed_id, incident),
        case_incident=_with_all(state.case_incident, ((p, proposed_id) for p in peers)),
    ), _membership(incident, case_id)


def close_case(
    state: IncidentState, case_id: str, now: datetime
) -> tuple[IncidentState, CaseClosed | None]:
    """Record that a case is closed: the state after it and what it did to its incident
    (None when the case belongs to no incident, and then nothing is remembered)."""
    incident_id = state.case_incident.get(case_id)
    if incident_id is None:
        return state, None
    incident = state.incidents[incident_id]
    incident = replace(incident, closed_case_ids=incident.closed_case_ids | {case_id})
    closed_now = incident.status == "open" and incident.case_ids <= incident.closed_case_ids
    taking_in = state.taking_in
    if closed_now:
        incident = replace(incident, status="closed", closed_ms=to_ms(now))
        if taking_in.get(incident.key) == incident_id:
            taking_in = _without(taking_in, incident.key)
    return replace(state, incidents=_with(state.incidents, incident_id, incident),
                   taking_in=taking_in), CaseClosed(incident_id, closed_now)


def fullest_span(times: list[int], at: int, span: int) -> int:
    """The most of `times` (sorted) that fit in one span `span` long that starts at one of
    them, no later than `at`, and reaches a time at or after `at` — with the case's own
    time among `times`, the fullest span of W that holds the case."""
    best = 0
    for start in times:
        if start > at:
            break
        end = bisect_right(times, start + span)
        if end and times[end - 1] >= at:
            best = max(best, end - bisect_left(times, start))
    return best


def _membership(incident: IncidentRecord, case_id: str) -> IncidentMembership:
    lead = incident.lead_case_id == case_id
    return IncidentMembership(
        incident_id=incident.incident_id, opened=lead, queue=incident.queue,
        severity=incident.severity, linked_case_ids=incident.opened_with if lead else (),
    )


def _with(mapping: Mapping[K, V], key: K, value: V) -> Mapping[K, V]:
    return _frozen({**mapping, key: value})


def _with_all(mapping: Mapping[K, V], items: Iterable[tuple[K, V]]) -> Mapping[K, V]:
    return _frozen({**mapping, **dict(items)})


def _without(mapping: Mapping[K, V], key: K) -> Mapping[K, V]:
    return _frozen({k: v for k, v in mapping.items() if k != key})


__all__ = [
    "CaseClosed",
    "IncidentRecord",
    "IncidentState",
    "close_case",
    "duration_ms",
    "fullest_span",
    "observe",
    "to_ms",
]
