"""`complaints act` and `complaints case`: what a handler desk records, and what it sees.

    complaints act CASE ACTION [--actor NAME] [--note TEXT] [--amount N]
                   [--satisfaction 1-5] [--approved-by NAME] [--reason TEXT]
                   [--category CODE] [--kind CODE] [--queue NAME] [--json]
    complaints case ID [--json]

`act` publishes a `HandlerAction` on `complaints.actions.v1` (as an upstream desk system
would) and waits for the recovery stage's verdict: it exits 0 when the action was
accepted, 1 when it was rejected (the reason is printed), 2 on errors — among them an
invalid `--actor`, and Redis or Kafka not answering within `COMPLAINTS_CLI_TIMEOUT_S`.
Everything shown comes from handlers and customers, so it goes through `terminal_safe`.
"""

import asyncio
import contextlib
import getpass
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from complaints.cli.errors import UserError, answered, checked_name, talk
from complaints.cli.output import terminal_safe as safe
from complaints.ops.logs import json_text

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from complaints.settings import Settings

console = Console(emoji=False)

CaseId = Annotated[str, typer.Argument(help="Case id, e.g. C20261124-5F1A9C03D2.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def act(
    case: CaseId,
    action: Annotated[str, typer.Argument(help="acknowledge, apologize, start_fix, fix_done, "
                                          "compensate, follow_up, close, escalate, reopen, "
                                          "reassign, terminate, reclassify")],
    actor: Annotated[str | None, typer.Option(help="Who acts (default: $COMPLAINTS_HANDLER "
                                              "or your login).")] = None,
    note: Annotated[str | None, typer.Option(help="What was said or done.")] = None,
    amount: Annotated[float | None, typer.Option(help="Compensation in CNY.")] = None,
    satisfaction: Annotated[int | None, typer.Option(
        min=1, max=5, help="Return-visit answer: 5 很满意 … 1 很不满意.")] = None,
    approved_by: Annotated[str | None, typer.Option(
        help="Supervisor approving compensation above the limit.")] = None,
    reason: Annotated[str | None, typer.Option(help="Reason (terminate, reopen).")] = None,
    category: Annotated[str | None, typer.Option(help="New category (reclassify).")] = None,
    kind: Annotated[str | None, typer.Option(help="New kind (reclassify).")] = None,
    queue: Annotated[str | None, typer.Option(help="Target queue (reassign).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the verdict.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Record a handler action on a case; exits 1 if the lifecycle rejects it."""
    from pydantic import ValidationError

    from complaints.schemas.case import HandlerAction
    from complaints.settings import load_settings

    settings = load_settings()
    who = checked_name(actor or os.environ.get("COMPLAINTS_HANDLER") or getpass.getuser(),
                       "--actor")
    if approved_by is not None:
        checked_name(approved_by, "--approved-by")
    try:
        command = HandlerAction(
            action_id=f"act-{uuid.uuid4().hex[:16]}", case_id=case, action=action,
            actor=who, note=note, amount=Decimal(str(amount)) if amount is not None else None,
            satisfaction=satisfaction, approved_by=approved_by, reason=reason,
            new_category=category, new_kind=kind, target_queue=queue,
            issued_at=datetime.now(UTC),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "action"
        raise UserError(f"{where}: {first['msg']}") from None
    outcome = asyncio.run(_send_and_wait(settings, command, wait))
    if as_json:
        sys.stdout.write(json_text(outcome) + "\n")
    elif outcome["accepted"]:
        console.print(f"{safe(case)}: {safe(action)} accepted → "
                      f"[bold]{safe(outcome['state'])}[/]", highlight=False)
        for event in outcome["events"][1:]:
            console.print(f"  then {safe(event['event_type'])}", highlight=False)
    else:
        console.print(f"{safe(case)}: {safe(action)} [red]rejected[/]: "
                      f"{safe(outcome['reason'])}", highlight=False)
    if not outcome["accepted"]:
        raise typer.Exit(1)


async def _send_and_wait(settings: "Settings", command: Any, wait_s: float) -> dict[str, Any]:
    from complaints.store.cases import CaseStore

    client = redis_client(settings)
    store = CaseStore(client, settings.topic_prefix)
    try:
        known = client.exists(f"{settings.topic_prefix}:case:{command.case_id}")
        if await answered(settings, "redis", known) == 0:
            raise UserError(f"no case {command.case_id}; `complaints queues` lists open work")
        await answered(settings, "kafka", _publish(settings, command))
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            outcome = await answered(settings, "redis", store.action_outcome(command.action_id))
            if outcome is not None:
                return outcome
            await asyncio.sleep(0.1)
        raise UserError(f"no verdict on {command.action} within {wait_s:g}s: is a worker "
                        "running? (the action stays queued and will be applied)")
    finally:
        await client.aclose()


async def _publish(settings: "Settings", command: Any) -> None:
    """Put the action on `complaints.actions.v1`, as an upstream desk system would."""
    from complaints.messaging import admin as kafka
    from complaints.messaging.codec import encode_cloudevent
    from complaints.schemas.envelope import HANDLER_ACTION_TYPE
    from complaints.schemas.topics import Topics

    producer = kafka.producer(settings)
    try:
        await producer.start()
        await producer.send_and_wait(
            Topics.for_prefix(settings.topic_prefix).actions,
            key=command.case_id.encode(),
            value=encode_cloudevent(HANDLER_ACTION_TYPE, command.action_id, command,
                                    subject=command.case_id))
    finally:  # also when the command gave up waiting: stop what was started, briefly
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 5)


def redis_client(settings: "Settings") -> "aioredis.Redis":
    """A Redis client for a command: its socket timeouts are the command's own."""
    import redis.asyncio as aioredis

    timeout = settings.cli_timeout_s
    return aioredis.Redis.from_url(settings.redis_dsn(), socket_timeout=timeout,
                                   socket_connect_timeout=timeout)


def case(case_id: CaseId, as_json: JsonOption = False) -> None:
    """A case: its state, history, open deadlines, queue and handler."""
    from complaints.settings import load_settings

    settings = load_settings()
    view = talk(settings, "redis", _case_view(settings, case_id))
    if view is None:
        raise UserError(f"no case {case_id}")
    if as_json:
        sys.stdout.write(json_text(view) + "\n")
        return
    snapshot, work = view["case"], view["work_item"]
    console.print(f"[bold]{safe(case_id)}[/] · {safe(snapshot['kind'])} · "
                  f"{safe(snapshot['category'])} · {safe(snapshot['severity'])} · "
                  f"state [bold]{safe(snapshot['state'])}[/] · round {snapshot['round']}",
                  highlight=False)
    held = f", held by {safe(work['handler'])}" if work and work.get("handler") else ""
    console.print(f"queue {safe(snapshot['queue'])}"
                  + (f" · work item {safe(work['state'])}{held}" if work else ""),
                  highlight=False)
    deadlines = Table(title="open deadlines", show_edge=False)
    for column in ("deadline", "due", "warns at", "status"):
        deadlines.add_column(column)
    for d in view["open_deadlines"]:
        deadlines.add_row(safe(d["name"]), safe(d["due_at"]), safe(d["warn_at"]),
                          safe(d["status"]))
    console.print(deadlines)
    history = Table(title="history", show_edge=False)
    for column in ("v", "when", "event", "actor", "state", "detail"):
        history.add_column(column)
    for e in view["history"]:
        detail = e.get("reason") or e.get("note") or ""
        history.add_row(str(e["version"]), safe(e["occurred_at"]), safe(e["event_type"]),
                        safe(e["actor"]),
                        f"{safe(e['state_before'] or '')} → {safe(e['state_after'])}",
                        safe(detail))
    console.print(history)


async def _case_view(settings: "Settings", case_id: str) -> dict[str, Any] | None:
    from complaints.schemas.case import DeadlineStatus
    from complaints.store.cases import CaseStore
    from complaints.store.work_queues import WorkQueues

    client = redis_client(settings)
    try:
        await client.ping()  # the store waits outages out; a refused connection is news now
        store = CaseStore(client, settings.topic_prefix)
        snapshot = await store.load(case_id)
        if snapshot is None:
            return None
        history = await store.history(case_id)
        work = await WorkQueues(client, settings.topic_prefix, patient=False).inspect(case_id)
        return {
            "case": snapshot.model_dump(mode="json"),
            "open_deadlines": [d.model_dump(mode="json") for d in snapshot.deadlines
                               if d.status in (DeadlineStatus.OPEN, DeadlineStatus.WARNED)],
            "history": [e.model_dump(mode="json") for e in history],
            "work_item": {"state": work.state, "queue": work.queue, "handler": work.handler,
                          "incident_id": work.incident_id} if work else None,
        }
    finally:
        await client.aclose()


def register(app: typer.Typer) -> None:
    """Add `act` and `case` to the `complaints` command."""
    app.command("act")(act)
    app.command("case")(case)
