"""What a handler desk does from a terminal: look at the queues, take the next case,
keep it, give it back or finish it.

    complaints queues [--json]                      depth, in progress, oldest wait, breaches
    complaints claim QUEUE [--handler N] [--lease S] [--json]
    complaints renew CASE [--handler N] [--lease S] keep working on a claimed case
    complaints release CASE [--handler N]           give it back to its queue
    complaints complete CASE [--handler N]          finished: the case leaves the queue

`claim` prints nothing and exits 0 when the queue is empty, so scripts can loop on it.
The handler name defaults to `COMPLAINTS_HANDLER`, else the login name, and must be a
login-like name (`checked_name`). Errors are `UserError`s (one line), and `talk` bounds
every wait for Redis (`complaints.cli.errors`). What cases say is printed through
`terminal_safe`.
"""

import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from complaints.cli.errors import UserError, checked_name, talk
from complaints.cli.output import terminal_safe as safe
from complaints.ops.logs import json_text

if TYPE_CHECKING:  # the rest is imported when a command runs: `complaints` starts fast
    from complaints.routing.table import RoutingTable
    from complaints.schemas.routing import ClaimedCase, Incident, QueueStats
    from complaints.settings import Settings
    from complaints.store.work_queues import WorkQueues

T = TypeVar("T")
console = Console(emoji=False)

HandlerOption = Annotated[str | None, typer.Option(
    "--handler", envvar="COMPLAINTS_HANDLER",
    help="Who takes the case (default: $COMPLAINTS_HANDLER, else your login name).")]
LeaseOption = Annotated[float | None, typer.Option(
    "--lease", min=5, max=86_400,
    help="Lease length in seconds (default: the queue's, from the routing table).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]
CaseArgument = Annotated[str, typer.Argument(help="Case id, e.g. C20261124-5F1A9C03D2.")]


def queues(as_json: JsonOption = False) -> None:
    """Handler queues: waiting, in progress, oldest wait and SLA breaches."""
    from rich import box
    from rich.table import Table

    settings, table = _context()

    async def read(work: "WorkQueues") -> "dict[str, QueueStats]":
        names = sorted(set(table.queues) | set(await work.known_queues()))
        return await work.stats(names)

    stats = _with_queues(settings, table, read)
    if as_json:
        rows = [{"name": _queue_name(table, s.queue), **s.model_dump()} for s in stats.values()]
        _print_json(rows)
        return
    view = Table(title=f"handler queues ({safe(settings.topic_prefix)})", box=box.SIMPLE_HEAD)
    for header in ("queue", "name"):
        view.add_column(header, no_wrap=True)
    for header in ("waiting", "leased", "oldest", "breaches"):
        view.add_column(header, justify="right", no_wrap=True)
    for name in _table_order(table, stats):
        s = stats[name]
        view.add_row(safe(name), safe(_queue_name(table, name)), str(s.depth), str(s.in_progress),
                     _duration(s.oldest_wait_s),
                     f"[red]{s.breaches}[/]" if s.breaches else "0")
    console.print(view)


def claim(
    queue: Annotated[str, typer.Argument(help="Queue code, e.g. billing_metering.")],
    handler: HandlerOption = None,
    lease: LeaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take the next case of QUEUE (most severe, then earliest due, then oldest)."""
    settings, table = _context()
    who = _handler(handler)

    async def take(work: "WorkQueues") -> "tuple[ClaimedCase | None, Incident | None]":
        if queue not in table.queues and queue not in await work.known_queues():
            raise _user_error(f"unknown queue {queue!r}; queues: {', '.join(table.queues)}")
        case = await work.claim(queue, who, lease or table.lease_for(queue))
        if case is None or case.incident_id is None:
            return case, None
        from complaints.store.history import IncidentTracker

        tracker = IncidentTracker(work.client, settings.topic_prefix)
        return case, await tracker.incident(case.incident_id)

    case, incident = _with_queues(settings, table, take)
    if case is None:
        return  # an empty queue is not an error: nothing printed, exit code 0
    if as_json:
        from complaints.normalise import mask_personal_data

        _print_json({**case.model_dump(mode="json"), "excerpt": mask_personal_data(case.excerpt),
                     "incident": incident.model_dump(mode="json") if incident else None})
        return
    _print_case(case, incident, table)


def renew(case: CaseArgument, handler: HandlerOption = None, lease: LeaseOption = None) -> None:
    """Keep a claimed case: its lease runs LEASE seconds from now."""
    settings, table = _context()
    who = _handler(handler)

    async def extend(work: "WorkQueues") -> datetime:
        state = await work.inspect(case)
        length = lease or table.lease_for(state.queue if state else table.default_queue)
        return await work.renew(case, who, length)

    until = _with_queues(settings, table, extend)
    console.print(f"{safe(case)}: lease held by {safe(who)} until {_local(until)}",
                  highlight=False)


def release(case: CaseArgument, handler: HandlerOption = None) -> None:
    """Give a claimed case back to its queue, in its old place, for someone else."""
    settings, table = _context()
    who = _handler(handler)
    _with_queues(settings, table, lambda work: work.release(case, who))
    console.print(f"{safe(case)}: released back to its queue", highlight=False)


def complete(case: CaseArgument, handler: HandlerOption = None) -> None:
    """Finish a claimed case: it leaves the queue for good."""
    settings, table = _context()
    who = _handler(handler)
    _with_queues(settings, table, lambda work: work.complete(case, who))
    console.print(f"{safe(case)}: completed by {safe(who)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the handler-desk commands to the `complaints` command."""
    app.command("queues")(queues)
    app.command("claim")(claim)
    app.command("renew")(renew)
    app.command("release")(release)
    app.command("complete")(complete)


# --- plumbing -------------------------------------------------------------------------------
def _context() -> "tuple[Settings, RoutingTable]":
    from complaints.routing.exceptions import RoutingTableError
    from complaints.routing.table import load_table
    from complaints.settings import load_settings

    settings = load_settings()
    try:
        return settings, load_table(settings.routes_path)
    except RoutingTableError as exc:
        raise _user_error(str(exc).splitlines()[0]) from None


def _with_queues(
    settings: "Settings", table: "RoutingTable", action: "Callable[[WorkQueues], Awaitable[T]]"
) -> T:
    """Run `action` against the work queues; Redis trouble — no answer within
    `COMPLAINTS_CLI_TIMEOUT_S`, a refused connection — becomes one clear line."""
    from complaints.cli.case import redis_client
    from complaints.store.work_queues import LeaseError, WorkQueues

    async def run() -> T:
        client = redis_client(settings)
        try:
            work = WorkQueues(client, settings.topic_prefix, patient=False,
                              done_ttl_s=table.done_retention_days * 86_400)
            return await action(work)
        finally:
            await client.aclose()

    try:
        return talk(settings, "redis", run())
    except LeaseError as exc:
        raise _user_error(str(exc)) from None


def _user_error(message: str) -> Exception:

    return UserError(message)


def _handler(given: str | None) -> str:
    """`--handler` (or `COMPLAINTS_HANDLER`), else the login name; a login-like name."""

    if given and given.strip():
        return checked_name(given.strip(), "--handler")
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = os.environ.get("HOSTNAME", "handler")
    return checked_name(login, "--handler (your login name is not one; give --handler)")


def _print_case(case: "ClaimedCase", incident: "Incident | None", table: "RoutingTable") -> None:
    from complaints.normalise import mask_personal_data

    console.print(f"[bold]{safe(case.case_id)}[/]  {safe(case.severity)}  priority "
                  f"{case.priority}  {safe(table.queue_label(case.queue))}", highlight=False)
    console.print(f"  due {_local(case.due_at, '%m-%d %H:%M')} · lease until "
                  f"{_local(case.lease_expires_at, '%H:%M:%S')} ({safe(case.handler)}, "
                  f"claim #{case.claim_count})", highlight=False)
    where = f" · {safe(case.area)}" if case.area else ""
    console.print(f"  {safe(case.kind)} · {safe(case.category)} · {safe(case.industry)} · "
                  f"{safe(case.channel)} · {safe(case.tier)}{where}", highlight=False)
    # Masked when routed; masked again, for items queued before a format was added.
    console.print(f"  {safe(mask_personal_data(case.excerpt))}", highlight=False)
    if incident is not None:
        others = [safe(c) for c in incident.case_ids if c != case.case_id]
        console.print(f"  [yellow]mass incident {safe(incident.incident_id)}[/]: "
                      f"{safe(incident.category)} in {safe(incident.area)}, "
                      f"{len(incident.case_ids)} cases "
                      f"({', '.join(others[:5])}{' …' if len(others) > 5 else ''})",
                      highlight=False)


def _print_json(value: object) -> None:
    sys.stdout.write(json_text(value) + "\n")


def _table_order(table: "RoutingTable", stats: "dict[str, QueueStats]") -> list[str]:
    declared = [name for name in table.queues if name in stats]
    return declared + sorted(set(stats) - set(declared))


def _queue_name(table: "RoutingTable", queue: str) -> str:
    spec = table.queues.get(queue)
    return spec.name if spec else "(not in routing table)"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _local(moment: datetime, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A moment in the terminal's local time zone."""
    return moment.astimezone(UTC).astimezone().strftime(pattern)


__all__ = ["claim", "complete", "queues", "register", "release", "renew"]
