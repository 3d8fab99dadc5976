"""The worker's web endpoints: the dashboard at `/`, `/metrics` for Prometheus, `/health`
and `/ready` for orchestrators, `/api/overview` for the dashboard and scripts.

Served by Faust's own web server (`COMPLAINTS_WEB_PORT`), so every worker has them.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from complaints.ops.lag import measure_lag, totals
from complaints.schemas.routing import QueueStats
from complaints.settings import Settings

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "complaints_consumer_lag", "Messages not yet processed, per group and topic.",
    ["group", "topic"],
)

QUEUE_DEPTH = Gauge("complaints_queue_depth", "Cases waiting per handler queue.", ["queue"])
QUEUE_OLDEST = Gauge(
    "complaints_queue_oldest_age_seconds", "Wait of the oldest case per handler queue.",
    ["queue"],
)
QUEUE_BREACHES = Gauge(
    "complaints_queue_breaches", "Waiting cases already past their due time.", ["queue"]
)
DASHBOARD = Path(__file__).with_name("dashboard.html")
#: How often the queue and lag gauges are refreshed.
GAUGE_INTERVAL_S = 5.0

Overview = Callable[[], Awaitable[dict[str, Any]]]
QueueStatsReader = Callable[[], Awaitable[Mapping[str, QueueStats]]]


def attach_web(app: faust.App, settings: Settings, overview: Overview,
               queue_stats: QueueStatsReader,
               ready_checks: list[Callable[[], Awaitable[bool]]]) -> None:
    """Register the endpoints and the timer that keeps the lag gauge fresh."""

    @app.page("/")
    async def dashboard(web: View, request: Request) -> Response:
        return web.html(DASHBOARD.read_text(encoding="utf-8"))

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type; Prometheus text is UTF-8 anyway.
        content_type = "; ".join(part for part in CONTENT_TYPE_LATEST.split("; ")
                                 if not part.startswith("charset="))
        return web.bytes(generate_latest(), content_type=content_type)

    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: View, request: Request) -> Response:
        """503 unless the worker has partitions and every dependency answers (Redis, the
        broker: Faust keeps its assignment through a broker outage, `readiness.py`)."""
        checks = {"partitions_assigned": not app.rebalancing and bool(
            app.consumer.assignment())}
        for check in ready_checks:
            try:
                checks[check.__name__] = await check()
            except Exception as exc:  # a failing dependency means "not ready", not a 500
                log.debug("readiness check %s failed: %s", check.__name__, exc)
                checks[check.__name__] = False
        ok = all(checks.values())
        return web.json({"ready": ok, "checks": checks}, status=200 if ok else 503)

    @app.page("/api/overview")
    async def api_overview(web: View, request: Request) -> Response:
        return web.json(await overview())

    failing = False  # whether the last refresh failed: one warning per outage, not per tick

    @app.timer(interval=GAUGE_INTERVAL_S)
    async def refresh_gauges() -> None:
        """Queue and lag gauges, so a scrape always finds recent values."""
        nonlocal failing
        try:
            await refresh()
        except Exception as exc:  # a dependency may be away for a while; next tick
            if not failing:
                log.warning("could not refresh gauges: %s (retrying every %.0f s; quiet "
                            "until it works again)", exc, GAUGE_INTERVAL_S)
            else:
                log.debug("could not refresh gauges: %s", exc)
            failing = True
        else:
            if failing:
                log.info("gauges refreshed again")
            failing = False

    async def refresh() -> None:
        for name, stats in (await queue_stats()).items():
            QUEUE_DEPTH.labels(name).set(stats.depth)
            QUEUE_OLDEST.labels(name).set(stats.oldest_wait_s or 0)
            QUEUE_BREACHES.labels(name).set(stats.breaches)
        rows = await measure_lag(settings)
        for key, value in totals(rows)["topics"].items():
            group, topic = key.split("/", 1)
            CONSUMER_LAG.labels(group, topic).set(value)
