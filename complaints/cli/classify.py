"""`complaints classify` and `evaluate`: the rule pack offline, explained and measured."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from complaints.cli.errors import UserError
from complaints.cli.output import console, terminal_safe
from complaints.ops.logs import json_text
from complaints.settings import load_settings


def classify_command(
    text: Annotated[str | None, typer.Argument(help="Complaint text.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="One text per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Full explanation as JSON.")] = False,
    rules: Annotated[Path | None, typer.Option(help="Rule pack (default: built-in).")] = None,
) -> None:
    """Classify text offline and explain the decision."""
    from complaints.classifier import classify, load_pack
    from complaints.cli.output import render_classification

    if (text is None) == (file is None):
        raise UserError("give either TEXT or --file FILE")
    pack_path = rules or load_settings().rules_path
    pack = load_pack(pack_path) if pack_path else _default_pack()
    if text is not None:
        result = classify(text, pack)
        if as_json:
            sys.stdout.write(json_text(result.model_dump(mode="json"), indent=2) + "\n")
        else:
            render_classification(console, text, result)
        return
    assert file is not None
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: {exc}") from None
    for line in lines:
        if not line.strip():
            continue
        result = classify(line, pack)
        if as_json:
            sys.stdout.write(json_text({"text": line, **result.model_dump(mode="json")}) + "\n")
        else:
            console.print(f"{result.category:<16} {result.kind:<10} {result.severity} "
                          f"{result.industry:<10} {terminal_safe(line)}", highlight=False)


def _default_pack():  # type: ignore[no-untyped-def]
    from complaints.classifier import load_default_pack

    return load_default_pack()


def evaluate(
    sets: Annotated[list[Path] | None, typer.Option(
        "--set",
        help="Labelled JSONL set; repeat for several (default: every shipped set).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule pack (default: built-in).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    misses: Annotated[bool, typer.Option("--misses", help="List every wrong text.")] = False,
) -> None:
    """Every labelled set and split: category, kind, complaints, inquiries, other, per category."""
    from complaints.classifier import load_pack
    from complaints.classifier.evaluation import evaluate_sets, render_sets, shipped_set_paths

    pack = load_pack(rules) if rules else _default_pack()
    reports = evaluate_sets(pack, sets or shipped_set_paths())
    if as_json:
        sys.stdout.write(json_text([r.to_dict() for r in reports], indent=2) + "\n")
    else:  # plain text with the pack's version and labels in it: shown, not interpreted
        console.print("\n".join(terminal_safe(line, markup=False)
                                for line in render_sets(reports, misses=misses).splitlines()),
                      markup=False, soft_wrap=True)


rules_app = typer.Typer(help="Rule-pack vocabulary from labelled data.", no_args_is_help=True)


@rules_app.command("suggest")
def rules_suggest(
    labelled: Annotated[Path, typer.Option("--set", help="Labelled JSONL set.")],
    rules: Annotated[Path | None, typer.Option(
        "--pack", help="Rule pack (default: built-in).")] = None,
    split: Annotated[str, typer.Option(help="Split of a set that has splits.")] = "dev",
    top: Annotated[int, typer.Option(help="Candidates per category and kind.")] = 15,
) -> None:
    """Candidate terms per category and kind, with the texts they fix and break, as YAML."""
    from complaints.classifier import load_pack
    from complaints.classifier.evaluation import load_set
    from complaints.classifier.suggest import render, suggest

    pack = load_pack(rules) if rules else _default_pack()
    items = load_set(labelled)
    if any(item.split for item in items):
        items = [item for item in items if item.split == split]
    text = render(suggest(pack, items, top=top), items, f"{labelled.name} [{split}]")
    console.print("\n".join(terminal_safe(line, markup=False) for line in text.splitlines()),
                  markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `classify` and `evaluate` to the `complaints` command."""
    app.command("classify")(classify_command)
    app.command("evaluate")(evaluate)
    app.add_typer(rules_app, name="rules")
