"""The intake agent: the intake topics → `stages.intake` → hold and release.

A batch is acknowledged only once its outputs are confirmed (`agents.acknowledgements`);
while it is confirmed the next one is already worked (one batch at most in flight).
"""

import asyncio
from collections.abc import Sequence

import faust

from complaints.agents.acknowledgements import hold, inbound, release, stop_unacknowledged
from complaints.stages.intake import IntakeDeps, PublishedBatch, publish_events


def attach(app: faust.App, topic: faust.TopicT, deps: IntakeDeps, *, batch_size: int,
           batch_window_s: float) -> None:
    """Register the intake agent on `app`, reading `topic` (both intake topics)."""

    @app.agent(topic, name="intake_events")
    async def intake_events(stream: faust.StreamT) -> None:
        in_flight: list[tuple[asyncio.Future[None], PublishedBatch]] = []
        try:
            async for batch in stream.take_events(batch_size, within=batch_window_s):
                hold(batch)  # acknowledged once confirmed, not when taken
                try:
                    published = await publish_events(inbound(batch), deps)
                except Exception as exc:  # only the infrastructure's failures get here
                    stop_unacknowledged("intake", len(batch), exc)
                in_flight.append((asyncio.ensure_future(
                    _acknowledged(published, batch, stream, deps)), published))
                while len(in_flight) > 1:  # one batch confirms while the next is worked
                    await in_flight.pop(0)[0]
        finally:
            for confirming, published in in_flight:
                confirming.cancel()
                published.give_up(deps)  # its inputs are redelivered; repeats are dropped


async def _acknowledged(published: PublishedBatch, batch: Sequence[faust.EventT],
                        stream: faust.StreamT, deps: IntakeDeps) -> None:
    """Acknowledge a batch's inputs once it is confirmed."""
    try:
        await published.confirm(deps)
    except Exception as exc:
        stop_unacknowledged("intake", len(batch), exc)
    await release(stream, batch)
