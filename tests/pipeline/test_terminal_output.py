"""Terminal output shows data as it is: never as Rich markup, never as control sequences.

Customers write complaint texts, handlers write notes, upstream systems name things: a
`[/]` must print as `[/]` (not fail with a MarkupError), an ESC or a bidi override must
print as a visible escape (not recolour, move or reorder the terminal). Names that act
on cases are login-like, refused otherwise before anything is sent.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from complaints.classifier import classify, load_default_pack
from complaints.classifier.pack import default_pack_path
from complaints.cli.output import render_classification, terminal_safe

HOSTILE = ["[/]", "[red]停电了[/red] 电费[/bold]", "\x1b[31m红色\x1b[0m 停电", "\u202e停电三天",
           "末尾反斜杠\\", ":thumbs_up: 停电", "[link=http://example.com]点我[/link]"]
RAW_CONTROL = ("\x1b", "\u202e", "\x07")


def complaints(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("KAFKA_", "REDIS_", "COMPLAINTS_"))}
    return subprocess.run([sys.executable, "-m", "complaints", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_safe_text_prints_as_itself(text: str) -> None:
    console = Console(record=True, width=200, emoji=False, color_system=None)
    console.print(f"[bold]note[/]: {terminal_safe(text)}")
    shown = console.export_text()
    expected = text.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e")
    assert shown.rstrip("\n ") == f"note: {expected}"
    console.print(f"[bold]{terminal_safe(text)}[/] after")  # markup after data still works
    assert console.export_text().rstrip("\n").endswith(" after")


def test_classification_of_hostile_text_renders() -> None:
    pack = load_default_pack()
    console = Console(record=True, width=200, emoji=False)
    for text in HOSTILE:
        render_classification(console, text, classify(text, pack))
    shown = console.export_text()
    assert "[/]" in shown and "\\x1b[31m" in shown and "\\u202e" in shown
    assert not any(c in shown for c in RAW_CONTROL)


def test_classify_file_shows_every_line_as_written(tmp_path: Path) -> None:
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(HOSTILE) + "\n", encoding="utf-8")
    result = complaints("classify", "--file", str(lines))
    assert result.returncode == 0, result.stderr
    assert "[/]" in result.stdout and "[red]停电了[/red]" in result.stdout
    assert "\\x1b[31m红色" in result.stdout and ":thumbs_up:" in result.stdout
    assert not any(c in result.stdout for c in RAW_CONTROL)
    as_json = complaints("classify", "--file", str(lines), "--json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [row["text"] for row in rows] == HOSTILE  # the same data, JSON-escaped
    assert not any(c in as_json.stdout for c in RAW_CONTROL)


def test_classify_text_with_markup_and_escapes() -> None:
    result = complaints("classify", "[/] \x1b[2J停电三天\u202e")
    assert result.returncode == 0, result.stderr
    assert "[/] \\x1b[2J停电三天\\u202e" in result.stdout
    assert not any(c in result.stdout for c in RAW_CONTROL)


def test_evaluate_with_a_pack_named_like_markup(tmp_path: Path) -> None:
    pack = tmp_path / "rules.yaml"
    original = default_pack_path().read_text(encoding="utf-8")
    version_line = f'version: "{load_default_pack().version}"'
    assert version_line in original
    pack.write_text(original.replace(version_line, 'version: "[/]\\e[31m"', 1),
                    encoding="utf-8")
    result = complaints("evaluate", "--rules", str(pack))
    assert result.returncode == 0, result.stderr
    assert "rule pack [/]\\x1b[31m on" in result.stdout


@pytest.mark.parametrize(("args", "option"), [
    (["act", "C20261124-5F1A9C03D2", "apologize", "--actor", "zhang wei"], "--actor"),
    (["act", "C20261124-5F1A9C03D2", "apologize", "--actor", "[/]"], "--actor"),
    (["act", "C20261124-5F1A9C03D2", "apologize", "--actor", "\x1b[31mroot"], "--actor"),
    (["act", "C20261124-5F1A9C03D2", "compensate", "--amount", "500", "--actor", "zhang.wei",
      "--approved-by", "李主任"], "--approved-by"),
    (["claim", "general", "--handler", "[/]"], "--handler"),
    (["renew", "C20261124-5F1A9C03D2", "--handler", "a" * 65], "--handler"),
])
def test_names_that_are_no_login_are_refused_before_anything_is_sent(
    args: list[str], option: str
) -> None:
    result = complaints(*args, REDIS_URL="redis://127.0.0.1:1/0",
                        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {option} must be 1-64 letters, digits or . _ @ -")
    assert not any(c in line for c in RAW_CONTROL)


def test_error_lines_show_control_characters_as_escapes() -> None:
    result = complaints("classify", "--file", "/nonexistent/\x1b[31m\u202e.txt")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "/nonexistent/\\x1b[31m\\u202e.txt" in line
