"""The failure policy (`pipeline.acknowledgements`): one event's content is dead-lettered,
a failure of Kafka or Redis stops the worker. Pure unit tests of the decision; the stages
are held to it through the real broker in tests/faults/test_poison_events.py."""

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ResponseError

from complaints.stages.failures import is_infrastructure, isolating_poison


def _validation_error() -> ValidationError:
    class Model(BaseModel):
        n: int

    try:
        Model.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize("error", [
    RedisConnectionError("refused"), OutOfMemoryError("OOM command not allowed"),
    ResponseError("ERR script"), KafkaConnectionError("no broker"),
    ConnectionRefusedError(), TimeoutError(), MemoryError(),
])
def test_failures_of_kafka_or_redis_are_infrastructure(error: BaseException) -> None:
    assert is_infrastructure(error)


@pytest.mark.parametrize("error", [
    OverflowError("date value out of range"), RecursionError(), ValueError("bad"),
    KeyError("x"), TypeError("y"), ZeroDivisionError(), _validation_error(),
    MessageSizeTooLargeError(), UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"),
])
def test_failures_one_event_can_cause_are_not_infrastructure(error: BaseException) -> None:
    assert not is_infrastructure(error)


def _run(items: list[int], fail: dict[int, BaseException]) -> tuple[list[object], list[list[int]]]:
    calls: list[list[int]] = []

    async def work(batch: Sequence[int]) -> object:
        calls.append(list(batch))
        for item in batch:
            if item in fail:
                raise fail[item]
        return ("ok", list(batch))

    async def poisoned(item: int, error: Exception) -> object:
        return ("dead", item, type(error).__name__)

    return asyncio.run(isolating_poison("test", items, work, poisoned)), calls


def test_a_batch_without_poison_is_worked_once_as_a_whole() -> None:
    results, calls = _run([1, 2, 3], {})
    assert results == [("ok", [1, 2, 3])]
    assert calls == [[1, 2, 3]]


def test_a_poison_is_dead_lettered_alone_and_the_rest_of_its_batch_goes_on() -> None:
    results, calls = _run([1, 2, 3, 4], {3: OverflowError("date value out of range")})
    assert results == [("ok", [1]), ("ok", [2]), ("dead", 3, "OverflowError"), ("ok", [4])]
    assert calls == [[1, 2, 3, 4], [1], [2], [3], [4]]


def test_a_single_poison_is_not_worked_twice() -> None:
    results, calls = _run([7], {7: RecursionError()})
    assert results == [("dead", 7, "RecursionError")]
    assert calls == [[7]]


def test_an_infrastructure_failure_is_raised_and_blames_no_event() -> None:
    with pytest.raises(RedisConnectionError):
        _run([1, 2, 3], {2: RedisConnectionError("Redis went away")})


def test_an_infrastructure_failure_while_isolating_is_raised_too() -> None:
    calls: list[list[int]] = []

    async def work(batch: Sequence[int]) -> None:
        calls.append(list(batch))
        if len(batch) > 1:
            raise ValueError("one of them is poison")
        if batch[0] == 2:
            raise KafkaConnectionError("broker gone meanwhile")

    async def poisoned(item: int, error: Exception) -> None:
        raise AssertionError("an infrastructure failure blamed on an event")

    with pytest.raises(KafkaConnectionError):
        asyncio.run(isolating_poison("test", [1, 2, 3], work, poisoned))
    assert calls == [[1, 2, 3], [1], [2]]
