"""Fixtures for classifier tests: the shipped pack once per session, and small packs
written to disk by a factory so validation and reload tests use real files."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from complaints.classifier import RulePack, load_default_pack
from tests.classifier.packs import small_pack


@pytest.fixture(scope="session")
def default_pack() -> RulePack:
    return load_default_pack()


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    """`write_pack(name="rules.yaml", **overrides)` → path of a small pack on disk."""

    def write(name: str = "rules.yaml", **overrides: Any) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(small_pack(**overrides), allow_unicode=True), "utf-8")
        return path

    return write
