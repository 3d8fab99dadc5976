"""The `complaints` command: one entry point for operators, handlers and upstream systems.

Each command group lives in its own module and registers itself here. Errors are one line
(what is wrong, how to fix it) and a non-zero exit code, never a traceback;
`COMPLAINTS_DEBUG=1` shows the traceback when you need it. Data is printed through
`terminal_safe`: customers' and handlers' words are shown, never interpreted as markup or
terminal control sequences.
"""

import os
import sys

import click
import typer
from typer.exceptions import TyperException

from complaints.cli import case, classify, desk, events, run
from complaints.cli.errors import UserError
from complaints.cli.output import err
from complaints.ops.logs import visible
from complaints.settings import ConfigurationError

app = typer.Typer(
    name="complaints", add_completion=False, no_args_is_help=True,
    help="Event-driven complaint handling: intake, classification, routing, recovery.",
)
run.register(app)  # run, worker, bench
events.register(app)  # publish, lag, schemas export
classify.register(app)  # classify, evaluate
desk.register(app)  # queues, claim, renew, release, complete
case.register(app)  # act, case


def main() -> None:
    """Entry point: run the command, turning known failures into one readable line."""
    import logging

    import jieba
    from pydantic import ValidationError

    from complaints.ops import logs

    # Library records (aiokafka's retries, redis waits) are not for the person at the
    # terminal, who gets one line per problem; `COMPLAINTS_DEBUG=1` shows warnings too.
    logs.configure("warn" if os.environ.get("COMPLAINTS_DEBUG") else "critical", False)
    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for users
    try:
        code = app(standalone_mode=False)  # click returns a typer.Exit's code here
        if isinstance(code, int) and code:
            sys.exit(code)
    except (UserError, ConfigurationError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _fail(f"invalid setting {where}: {first['msg']}")
    except (click.ClickException, TyperException) as exc:  # usage: bad option, missing
        # argument (typer ≥ 0.16 raises them from its own copy of click); none: the help
        # was shown (no arguments at all)
        message = exc.format_message().replace("\n", " ").strip()
        if not message:
            sys.exit(exc.exit_code)
        _fail(message, code=exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", code=130)
    except Exception as exc:
        if _is_data_file_error(exc):
            _fail(str(exc))
        if os.environ.get("COMPLAINTS_DEBUG"):
            raise
        _fail(f"{type(exc).__name__}: {exc} (set COMPLAINTS_DEBUG=1 for a traceback)")


def _is_data_file_error(exc: Exception) -> bool:
    """A rule pack, routing table or policy file the user can fix."""
    from complaints.classifier import RulePackError
    from complaints.routing.exceptions import RoutingTableError

    return isinstance(exc, RulePackError | RoutingTableError)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"error: {visible(message)}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
