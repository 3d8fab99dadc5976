"""The worker's consumer delivers in place when nothing can block, and races as Faust
does otherwise (pure: a Faust app object, no broker)."""

import asyncio
import warnings
from collections.abc import Awaitable, Callable

import faust

from complaints.pipeline.faust_tuning import PromptConsumer, deliver_promptly, layout_known


def with_consumer(scenario: Callable[[PromptConsumer], Awaitable[None]]) -> None:
    """Run `scenario` in a loop, with the consumer of a worker-like app."""

    async def main() -> None:
        app = faust.App("delivery-test", broker="kafka://127.0.0.1:1")
        deliver_promptly(app)
        app.flow_control.resume()  # as after a worker's first assignment
        consumer = app.consumer
        assert isinstance(consumer, PromptConsumer)
        await scenario(consumer)

    asyncio.run(main())


def test_the_installed_faust_is_laid_out_as_the_prompt_consumer_expects() -> None:
    assert layout_known(faust.App("layout-test", broker="kafka://127.0.0.1:1"))


def test_a_delivery_that_cannot_wait_runs_in_place_without_tasks() -> None:
    async def scenario(consumer: PromptConsumer) -> None:
        delivered: list[str] = []

        async def deliver(message: str) -> str:
            delivered.append(message)
            return "done"

        tasks_before = len(asyncio.all_tasks())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a flow wait left un-awaited would warn
            result = await consumer.wait_first(deliver("m1"), consumer.suspend_flow.wait())
        assert delivered == ["m1"]
        assert result.results == ["done"] and not result.stopped
        assert len(asyncio.all_tasks()) == tasks_before

    with_consumer(scenario)


def test_a_delivery_into_a_full_buffer_is_abandoned_when_a_rebalance_stops_the_flow() -> None:
    async def scenario(consumer: PromptConsumer) -> None:
        buffer = consumer.app.FlowControlQueue(maxsize=1, clear_on_resume=True)
        buffer.put_nowait("an event the agent has not taken yet")

        racing = asyncio.ensure_future(
            consumer.wait_first(buffer.put("the next event"), consumer.suspend_flow.wait())
        )
        await asyncio.sleep(0.01)
        assert not racing.done()  # Faust's race: the delivery waits for room…
        consumer.stop_flow()  # …until a rebalance suspends the flow
        result = await asyncio.wait_for(racing, timeout=2)
        assert result.results == [True]  # the flow wait won the race
        assert buffer.qsize() == 1  # the waiting delivery was abandoned

    with_consumer(scenario)


def test_a_full_agent_buffer_sends_the_delivery_through_faust_race() -> None:
    async def scenario(consumer: PromptConsumer) -> None:
        buffer = consumer.app.FlowControlQueue(maxsize=1, clear_on_resume=True)
        buffer.put_nowait("an event the agent has not taken yet")
        assert not consumer._delivery_cannot_wait()
        buffer.get_nowait()
        assert consumer._delivery_cannot_wait()

    with_consumer(scenario)


def test_only_the_delivery_loops_flow_wait_takes_the_shortcut() -> None:
    async def scenario(consumer: PromptConsumer) -> None:
        other = asyncio.Event()
        other_wait = other.wait()
        assert not consumer._is_flow_wait(other_wait)
        other_wait.close()
        flow_wait = consumer.suspend_flow.wait()
        assert consumer._is_flow_wait(flow_wait)
        flow_wait.close()

    with_consumer(scenario)
