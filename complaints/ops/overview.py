"""One snapshot of the pipeline for operators: what the dashboard and `/api/overview` show.

The same numbers the CLI prints — `complaints queues`, `complaints lag` — are read from
the same places (Redis work queues, committed and end offsets), so page and terminal
always agree. Every text in it (excerpts, areas, handler and queue names) is masked with
`mask_personal_data`, as logs and terminals are: the dashboard is no side door for
phone, ID-card or bank-card numbers.
"""

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from complaints.normalise import mask_personal_data
from complaints.ops.lag import measure_lag, totals
from complaints.settings import Settings
from complaints.store.cases import CaseStore
from complaints.store.counters import RecentCases, StageCounters
from complaints.store.history import IncidentTracker
from complaints.store.work_queues import WorkQueues

#: Stage counters shown as throughput, in data-flow order.
STAGES = [
    ("intake.read", "intake: read"),
    ("intake.complaints", "intake: complaints"),
    ("intake.dead_lettered", "intake: dead-lettered"),
    ("intake.duplicate", "intake: duplicates dropped"),
    ("classify.classified", "classify: classified"),
    ("route.routed", "route: routed"),
    ("recovery.opened", "recovery: cases opened"),
]


async def overview(client: "aioredis.Redis", settings: Settings) -> dict[str, Any]:
    """Counters, lag per topic, handler queues, recent cases and open incidents."""
    prefix = settings.topic_prefix
    counters = await StageCounters(client, prefix).read()
    queues = WorkQueues(client, prefix, patient=False)
    lag_rows = await measure_lag(settings)
    cases = CaseStore(client, prefix)
    recent = []
    for case_id in await RecentCases(client, prefix).read(20):
        work = await queues.inspect(case_id)
        case = await cases.load(case_id)
        if work is not None:
            recent.append({
                "case_id": case_id, "state": case.state if case else "routed",
                "work_item": work.state, "queue": work.queue, "handler": work.handler,
                "category": work.item.category, "kind": work.item.kind,
                "severity": case.severity if case else work.item.severity,
                "excerpt": work.item.excerpt, "incident_id": work.incident_id,
            })
    incidents = await IncidentTracker(client, prefix).open_incidents()
    return masked({
        "generated_at": datetime.now(UTC).isoformat(),
        "stages": [{"counter": key, "label": label, "events": counters.get(key, 0)}
                   for key, label in STAGES],
        "categories": {k.removeprefix("classify.category."): v for k, v in counters.items()
                       if k.startswith("classify.category.")},
        "lag": totals(lag_rows)["topics"],
        "partitions": [row.to_dict() for row in lag_rows],
        "queues": [s.model_dump(mode="json") for s in (await queues.stats()).values()],
        "recent_cases": recent,
        "incidents": [i.model_dump(mode="json") for i in incidents],
    })


#: Keys whose values are the pipeline's own identifiers, never masked (a case id is
#: `C20261124-…`; masking could only make it unusable as a link).
_IDS = frozenset({"case_id", "incident_id", "lead_case_id", "case_ids", "counter"})


def masked(value: Any) -> Any:
    """`value` with `mask_personal_data` applied to every string in it (dict keys too),
    except the identifiers in `_IDS`."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {mask_personal_data(str(k)): v if k in _IDS else masked(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value
