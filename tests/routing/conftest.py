"""Fixtures for routing tests: the default table, and a Redis key prefix of each test's
own on the session's real Redis (the `services` fixture of tests/conftest.py).

Complaints are made with `tests.routing.factories.make_complaint`.
"""

import uuid

import pytest

from complaints.routing.table import RoutingTable, load_default_table


@pytest.fixture(scope="session")
def table() -> RoutingTable:
    return load_default_table()


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix no other test uses."""
    return f"rt{uuid.uuid4().hex[:10]}"
