"""The worker's web endpoints: `/metrics` for Prometheus, `/health` and `/ready` for
orchestrators, `/api/overview` for the dashboard and scripts.

Served by Faust's own web server (`COMPLAINTS_WEB_PORT`), so every worker has them.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from complaints.pipeline.lag import measure_lag, totals
from complaints.pipeline.settings import Settings

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "complaints_consumer_lag", "Messages not yet processed, per group and topic.",
    ["group", "topic"],
)

Overview = Callable[[], Awaitable[dict[str, Any]]]


def attach_web(app: faust.App, settings: Settings, overview: Overview,
               ready_checks: list[Callable[[], Awaitable[bool]]]) -> None:
    """Register the endpoints and the timer that keeps the lag gauge fresh."""

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: View, request: Request) -> Response:
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

    @app.timer(interval=5.0)
    async def refresh_lag() -> None:
        try:
            rows = await measure_lag(settings)
        except Exception as exc:  # the broker may be away for a moment; try next tick
            log.warning("could not measure consumer lag: %s", exc)
            return
        for key, value in totals(rows)["topics"].items():
            group, topic = key.split("/", 1)
            CONSUMER_LAG.labels(group, topic).set(value)
