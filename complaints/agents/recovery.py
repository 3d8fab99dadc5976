"""The recovery agents: routing decisions and handler actions → `stages.recovery` → hold
and release; and the timer that fires due deadlines.

Inputs are acknowledged only once their cases are committed (`agents.acknowledgements`).
"""

import logging

import faust

from complaints.agents.acknowledgements import hold, inbound, release, stop_unacknowledged
from complaints.stages.recovery import (
    RecoveryDeps,
    apply_action_isolated,
    fire_deadlines,
    open_cases_of,
)

log = logging.getLogger(__name__)


def attach(app: faust.App, routed: faust.TopicT, actions: faust.TopicT, deps: RecoveryDeps,
           *, batch_size: int, batch_window_s: float, timer_interval_s: float = 1.0) -> None:
    """Register the recovery agents and the deadline timer on `app`."""

    @app.agent(routed, name="open_cases")
    async def open_cases_agent(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(batch_size, within=batch_window_s):
            hold(batch)  # acknowledged once the cases are committed, not when taken
            try:
                await open_cases_of(inbound(batch), deps)
            except Exception as exc:  # only the infrastructure's failures get here
                stop_unacknowledged("recovery", len(batch), exc)
            await release(stream, batch)

    @app.agent(actions, name="apply_actions")
    async def apply_actions(stream: faust.StreamT) -> None:
        async for event in stream.events():
            hold([event])
            try:
                await apply_action_isolated(inbound([event])[0], deps)
            except Exception as exc:
                stop_unacknowledged("recovery", 1, exc)
            await release(stream, [event])

    @app.timer(interval=timer_interval_s)
    async def deadlines() -> None:
        try:
            await fire_deadlines(deps)
        except Exception:
            log.exception("firing due deadlines failed; trying again at the next tick")
