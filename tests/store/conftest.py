"""Fixtures for the store tests: a Redis key prefix of each test's own on the session's
real Redis (the `services` fixture of tests/conftest.py)."""

import uuid

import pytest


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix no other test uses."""
    return f"st{uuid.uuid4().hex[:10]}"
