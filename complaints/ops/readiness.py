"""`/ready`'s broker check: does the Kafka cluster answer this worker right now?

Faust keeps its partition assignment while the broker is away (nobody tells it
otherwise), so without this check `/ready` said "ready" through a whole broker outage.
The check asks the brokers for cluster metadata *without topics* over the worker's own
producer connections: on a healthy cluster a small request on connections that are
already open, no group traffic. Orchestrators may call `/ready` every few seconds, and several may
call at once; an answer is reused for `FRESH_S` seconds, and concurrent calls share one
request.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaClient
from aiokafka.protocol.metadata import MetadataRequest

log = logging.getLogger(__name__)

#: How long one check may take before the broker counts as unreachable. Connecting to a
#: broker that swallows packets would otherwise wait for Faust's request timeout (minutes).
TIMEOUT_S = 2.0
#: How long an answer is reused: bounds the requests (and, while the broker is away, the
#: connection errors aiokafka logs) however often `/ready` is called.
FRESH_S = 1.0

ReadyCheck = Callable[[], Awaitable[bool]]


def broker_check(client: Callable[[], Awaitable[AIOKafkaClient]], *,
                 timeout_s: float = TIMEOUT_S, fresh_s: float = FRESH_S) -> ReadyCheck:
    """A `/ready` check (named `broker_answers`) for the cluster `client` talks to."""
    return BrokerCheck(client, timeout_s=timeout_s, fresh_s=fresh_s).broker_answers


class BrokerCheck:
    """Whether any broker of the cluster answers a metadata request, with a cached answer."""

    def __init__(self, client: Callable[[], Awaitable[AIOKafkaClient]], *, timeout_s: float,
                 fresh_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._fresh_s = fresh_s
        self._lock = asyncio.Lock()
        self._answer: tuple[float, bool] | None = None  # (monotonic time, answered)

    async def broker_answers(self) -> bool:
        """True when a broker answered within the timeout (at most `fresh_s` ago)."""
        async with self._lock:  # concurrent callers wait for one request, then reuse it
            if self._answer is not None and time.monotonic() - self._answer[0] < self._fresh_s:
                return self._answer[1]
            answered = await self._ask()
            self._answer = (time.monotonic(), answered)
            return answered

    async def _ask(self) -> bool:
        try:
            # Cancelling a request is safe in aiokafka: its reply is matched and dropped.
            return await asyncio.wait_for(self._answered(), self._timeout_s)
        except Exception as exc:  # unreachable, refused, timed out, not started
            log.debug("broker check failed: %r", exc)
            return False


    async def _answered(self) -> bool:
        return await _metadata_answered(await self._client())


async def _metadata_answered(client: AIOKafkaClient) -> bool:
    """Ask every broker the client knows at once; true as soon as one answers (a broker
    with an open connection answers first, an unreachable one cannot hold the check)."""
    asks = [asyncio.ensure_future(_asked(client, broker.nodeId))
            for broker in client.cluster.brokers()]
    try:
        for ask in asyncio.as_completed(asks):
            if await ask:
                return True
        return False
    finally:
        for ask in asks:
            ask.cancel()


async def _asked(client: AIOKafkaClient, node: int) -> bool:
    try:
        # No topics: the broker answers with its brokers only (API v1+), whatever the
        # number of topics.
        response = await client.send(node, MetadataRequest([]))
    except Exception as exc:
        log.debug("broker %s did not answer: %r", node, exc)
        return False
    return bool(response.brokers)
