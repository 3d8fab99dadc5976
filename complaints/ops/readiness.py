"""`/ready`'s broker check: does the Kafka cluster answer this worker right now?

Faust keeps its partition assignment while the broker is away (nobody tells it
otherwise), so without this check `/ready` said "ready" through a whole broker outage.
The check asks a broker for cluster metadata *without topics* over the worker's own
producer connection: on a healthy cluster that is one ~100-byte request on a connection
that is already open (about a millisecond on the embedded broker), no new connection,
no group traffic. Orchestrators may call `/ready` every few seconds, and several may
call at once; an answer is reused for `FRESH_S` seconds, and concurrent calls share one
request.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import faust
from aiokafka import AIOKafkaClient
from aiokafka.client import ConnectionGroup
from aiokafka.protocol.metadata import MetadataRequest

log = logging.getLogger(__name__)

#: How long one check may take before the broker counts as unreachable. Connecting to a
#: broker that swallows packets would otherwise wait for Faust's request timeout (minutes).
TIMEOUT_S = 2.0
#: How long an answer is reused: bounds the requests (and, while the broker is away, the
#: connection errors aiokafka logs) however often `/ready` is called.
FRESH_S = 1.0

ReadyCheck = Callable[[], Awaitable[bool]]


def broker_check(app: faust.App, *, timeout_s: float = TIMEOUT_S,
                 fresh_s: float = FRESH_S) -> ReadyCheck:
    """A `/ready` check (named `broker_answers`) for the cluster `app` produces to."""

    def client() -> AIOKafkaClient:
        # Raises faust's NotReady until the producer has started: then "not ready" too.
        return app.producer._ensure_producer().client  # type: ignore[attr-defined]

    return BrokerCheck(client, timeout_s=timeout_s, fresh_s=fresh_s).broker_answers


class BrokerCheck:
    """Whether any broker of the cluster answers a metadata request, with a cached answer."""

    def __init__(self, client: Callable[[], AIOKafkaClient], *, timeout_s: float,
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
            return await asyncio.wait_for(_metadata_answered(self._client()), self._timeout_s)
        except Exception as exc:  # unreachable, refused, timed out, not started
            log.debug("broker check failed: %r", exc)
            return False


async def _metadata_answered(client: AIOKafkaClient) -> bool:
    """Ask the brokers the client knows, connected ones first, until one answers."""
    nodes = [broker.nodeId for broker in client.cluster.brokers()]
    random.shuffle(nodes)
    # A node with an open connection costs no connect; an unreachable one costs an
    # aiokafka error line, so it is asked only when no connected node answered.
    nodes.sort(key=lambda node: not _connected(client, node))
    for node in nodes:
        try:
            # No topics: the broker answers with its brokers only (API v1+), whatever
            # the number of topics.
            response = await client.send(node, MetadataRequest([]))
        except Exception as exc:
            log.debug("broker %s did not answer: %r", node, exc)
            continue
        if response.brokers:
            return True
    return False


def _connected(client: AIOKafkaClient, node: int) -> bool:
    conn = client._conns.get((node, ConnectionGroup.DEFAULT))
    return conn is not None and conn.connected()
