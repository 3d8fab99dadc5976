"""Given a running pack, when its file changes, then the new pack takes over — unless
the new file is broken, in which case the running pack stays and the error is kept."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from complaints.classifier import PackReloader, RulePackError, classify
from complaints.schemas.codes import Category
from tests.classifier.packs import small_pack

WritePack = Callable[..., Path]


def _touch_later(path: Path) -> None:
    """Move mtime forward so a rewrite within one clock tick is still seen."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_unchanged_file_is_not_reloaded(write_pack: WritePack) -> None:
    reloader = PackReloader(write_pack())
    first = reloader.current()
    assert reloader.maybe_reload() is False
    assert reloader.current() is first


def test_edited_file_gives_new_results(write_pack: WritePack) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    assert classify("电压不稳", reloader.current()).category == Category.OTHER

    rules = small_pack()["rules"] + [
        {"id": "voltage", "target": "category:outage", "weight": 3, "terms": ["电压不稳"]}
    ]
    write_pack(version="test-2", rules=rules)
    _touch_later(path)

    assert reloader.maybe_reload() is True
    assert reloader.current().version == "test-2"
    assert classify("电压不稳", reloader.current()).category == Category.OUTAGE
    assert reloader.last_error is None


def test_broken_file_keeps_the_running_pack_and_records_the_error(
    write_pack: WritePack, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    running = reloader.current()

    rules = small_pack()["rules"]
    rules[1]["weight"] = 0
    write_pack(version="broken", rules=rules)
    _touch_later(path)

    assert reloader.maybe_reload() is False
    assert reloader.current() is running
    assert isinstance(reloader.last_error, RulePackError)
    assert "rule 'power.outage': weight: must be > 0" in str(reloader.last_error)
    assert "keeping version test-1" in caplog.text
    assert classify("停电了", reloader.current()).category == Category.OUTAGE


def test_fixed_file_clears_the_error(write_pack: WritePack) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    path.write_text("rules: [", "utf-8")
    _touch_later(path)
    assert reloader.maybe_reload() is False
    assert reloader.last_error is not None

    write_pack(version="test-3")
    _touch_later(path)
    assert reloader.maybe_reload() is True
    assert (reloader.current().version, reloader.last_error) == ("test-3", None)


def test_missing_file_keeps_the_running_pack(write_pack: WritePack) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    path.unlink()
    assert reloader.maybe_reload() is False
    assert reloader.current().version == "test-1"
    assert "cannot read" in str(reloader.last_error)


def test_reload_forces_a_read(write_pack: WritePack) -> None:
    path = write_pack()
    reloader = PackReloader(path)
    first = reloader.current()
    assert reloader.reload() is True
    assert reloader.current() is not first


def test_an_invalid_pack_cannot_start_a_reloader(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: x\n", "utf-8")
    with pytest.raises(RulePackError):
        PackReloader(path)
