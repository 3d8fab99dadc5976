"""One snapshot of the pipeline for operators: what the dashboard and `/api/overview` show.

The same numbers the CLI prints — `complaints queues`, `complaints lag` — are read from
the same places (Redis work queues, committed and end offsets), so page and terminal
always agree.
"""

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from complaints.pipeline.cases import CaseStore
from complaints.pipeline.history import IncidentTracker
from complaints.pipeline.lag import measure_lag, totals
from complaints.pipeline.settings import Settings
from complaints.pipeline.store import RecentCases, StageCounters
from complaints.pipeline.work_queues import WorkQueues

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
    return {
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
    }
