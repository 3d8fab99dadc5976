"""Every reach into Faust's and aiokafka's internals, in one place, behind one switch.

Each reach checks that the library is laid out as it was written for and otherwise
keeps the library's own behaviour (correct, only slower), with a warning;
`COMPLAINTS_FAUST_TUNING=false` turns them all off. Why each one pays is measured in
docs/benchmarks.md. The reaches:

- `PromptConsumer`: deliver a message to the agents without Faust's per-message race;
- `tune_consumer`: set the consumer's fetch wait, which Faust hard-codes;
- `outbound_records`: the stages' records go out through Faust's own aiokafka producer
  (off: a producer of the worker's own, with the same settings).

## The delivery race

Faust's delivery loop (`Consumer._drain_messages`) passes every message to the agents'
stream buffers through `wait_first(deliver(message), suspend_flow.wait())`, so that a
rebalance can abandon a delivery that is waiting — for the flow to resume, for the
producer buffer to ebb or for room in an agent's buffer. That race costs four asyncio
tasks and an `asyncio.wait` per message, paid twice for each complaint (its intake event
and its routing decision).

`PromptConsumer` skips the race when the delivery cannot wait for any of those, and
awaits it in place; otherwise it races as Faust does. Either way the outcome is the
same: a delivery that cannot wait has nothing a rebalance would abandon.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakSet

import faust
from aiokafka import AIOKafkaProducer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from mode.services import WaitResults

from complaints.messaging import admin
from complaints.messaging.records import OutboundRecords
from complaints.settings import Settings

log = logging.getLogger(__name__)

#: Largest record batch per partition the stages' producer builds.
PRODUCER_MAX_BATCH_BYTES = 512 * 1024

_EVENT_WAIT = asyncio.Event.wait.__code__


class PromptConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, delivering without the race when nothing can block."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffers: list[asyncio.Queue[Any]] = []  # the agents' stream buffers

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        if timeout is None and len(coros) == 2 and self._is_flow_wait(coros[1]) \
                and self._delivery_cannot_wait():
            delivery, flow_wait = coros
            flow_wait.close()  # never started: nothing to cancel
            return WaitResults([delivery], [await delivery], False)
        return await super().wait_first(*coros, timeout=timeout)

    def _is_flow_wait(self, coro: Any) -> bool:
        """Whether `coro` is the delivery loop's `suspend_flow.wait()`, not yet started."""
        frame = getattr(coro, "cr_frame", None)
        return getattr(coro, "cr_code", None) is _EVENT_WAIT and frame is not None \
            and frame.f_locals.get("self") is self.suspend_flow

    def _delivery_cannot_wait(self) -> bool:
        """Nothing the conductor's `on_message` awaits would block now: the flow is on,
        the producer buffer is within its limit and every agent's buffer has room."""
        app = self.app
        flow = app.flow_control
        producer_buffer = app.producer.buffer
        if len(self._buffers) != len(flow._queues):  # an agent (re)started
            self._buffers = list(flow._queues)
        return (not self.suspend_flow.is_set() and not self.should_stop
                and flow.is_active()
                and producer_buffer.pending.qsize() <= producer_buffer.max_messages
                and not any(buffer.full() for buffer in self._buffers))


class PromptTransport(faust_aiokafka.Transport):
    Consumer = PromptConsumer


def deliver_promptly(app: faust.App) -> None:
    """Give `app` the prompt consumer, if this Faust is laid out as the one it was
    written for (else keep Faust's own, with a warning: correct, only slower)."""
    if not layout_known(app):
        log.warning("Faust's consumer is laid out differently: keeping its delivery loop")
        return
    app.transport = PromptTransport(app.conf.broker_consumer, app)


def layout_known(app: faust.App) -> bool:
    """The Faust internals `PromptConsumer` relies on are where it expects them."""
    loop_names = set(faust_aiokafka.Consumer._drain_messages.__code__.co_names)
    return (app.conf.broker_consumer[0].scheme == "kafka"
            and not app.conf.producer_threaded  # its buffer is another thread's queue
            and {"wait_first", "suspend_flow"} <= loop_names
            and isinstance(getattr(app.flow_control, "_queues", None), WeakSet)
            and isinstance(getattr(ProducerBuffer, "max_messages", None), int))


def tune_consumer(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make the worker's consumer wait at most `fetch_max_wait_ms` per fetch.

    Faust builds its aiokafka consumer with a fixed `fetch_max_wait_ms=1500` and has no
    setting for it. Apache Kafka answers a waiting fetch as soon as data arrives, so
    there the wait only bounds idle polling; a broker that does not (the embedded Tansu)
    answers when it expires, so it is the latency floor of every stage. Set once the
    consumer exists (its first assignment), before the fetches that follow.
    """

    @app.on_partitions_assigned.connect
    async def _fetch_wait(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        consumer = getattr(getattr(app.consumer, "_thread", None), "_consumer", None)
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
            if fetcher._fetch_max_wait_ms != fetch_max_wait_ms:
                fetcher._fetch_max_wait_ms = fetch_max_wait_ms
                log.info("consumer fetches wait at most %d ms", fetch_max_wait_ms)
        else:  # a Faust or aiokafka version laid out differently: keep its default
            log.warning("cannot set the consumer's fetch wait; latency may suffer")


def apply(app: faust.App, settings: Settings) -> Callable[[], Awaitable[OutboundRecords]]:
    """Tune `app` (unless `settings.faust_tuning` is off) and return how the stages get
    their `OutboundRecords`."""
    if settings.faust_tuning:
        deliver_promptly(app)
        tune_consumer(app, settings.fetch_max_wait_ms)
    return outbound_records(app, settings)


def outbound_records(app: faust.App,
                     settings: Settings) -> Callable[[], Awaitable[OutboundRecords]]:
    """Records packed per partition for the stages, sent by Faust's own aiokafka producer
    (it has no batch API of its own), or, tuning off or laid out otherwise, by a
    producer of the worker's own."""
    if settings.faust_tuning and callable(getattr(app.producer, "_ensure_producer", None)):
        async def faust_producer() -> OutboundRecords:
            return OutboundRecords(app.producer._ensure_producer())

        return faust_producer
    if settings.faust_tuning:
        log.warning("Faust's producer is laid out differently: the stages use their own")
    return _OwnProducer(settings).records


class _OwnProducer:
    """An aiokafka producer with the worker's producer settings, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def records(self) -> OutboundRecords:
        async with self._lock:
            if self._producer is None:
                producer = admin.producer(self._settings,
                                          max_batch_size=PRODUCER_MAX_BATCH_BYTES)
                await producer.start()
                self._producer = producer
        return OutboundRecords(self._producer)
