"""The handler-desk commands against the real Redis, through typer as `complaints` runs them."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
import typer
from typer.testing import CliRunner, Result

from complaints.cli import desk as handler_cli
from complaints.cli.errors import UserError
from complaints.local.embedded import EmbeddedServices, free_port
from complaints.routing.table import RoutingTable
from complaints.schemas.codes import Category, Severity
from complaints.schemas.complaint import Complaint
from complaints.stages.route import RouteDeps, route_complaints
from tests.routing.factories import make_complaint

pytestmark = pytest.mark.broker

app = typer.Typer()
handler_cli.register(app)


@app.callback()
def _group() -> None:
    """Keeps typer from collapsing the app to a single command."""


def desk(services: EmbeddedServices, prefix: str, *args: str,
         redis_url: str | None = None) -> Result:
    env = {"REDIS_URL": redis_url or services.redis_url, "COMPLAINTS_TOPIC_PREFIX": prefix,
           "COMPLAINTS_HANDLER": "zhang.wei", "COMPLAINTS_ROUTES_PATH": None}
    return CliRunner().invoke(app, list(args), env=env)


def routed(services: EmbeddedServices, prefix: str, table: RoutingTable,
           complaints: list[Complaint]) -> list[Any]:
    async def run() -> list[Any]:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            return await route_complaints(complaints, RouteDeps(client, prefix, table))
        finally:
            await client.aclose()

    return asyncio.run(run())


def user_error(result: Result) -> str:
    assert isinstance(result.exception, UserError), (result.exception, result.output)
    return str(result.exception)


def test_queues_lists_every_desk_with_depth_and_breaches(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    routed(services, prefix, table, [make_complaint(received_at=two_days_ago),
                                     make_complaint(received_at=datetime.now(UTC))])
    result = desk(services, prefix, "queues", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["queue"]: row for row in json.loads(result.output)}
    assert set(rows) == set(table.queues)
    assert rows["billing_metering"]["depth"] == 2
    assert rows["billing_metering"]["breaches"] == 1  # due one day after contact
    assert rows["billing_metering"]["name"] == "营销部·电费计量"
    human = desk(services, prefix, "queues")
    assert human.exit_code == 0 and "营销部·电费计量" in human.output


def test_claim_from_an_empty_queue_prints_nothing_and_succeeds(
    services: EmbeddedServices, prefix: str
) -> None:
    result = desk(services, prefix, "claim", "general")
    assert (result.exit_code, result.output) == (0, "")


def test_claim_hands_out_the_most_urgent_case_with_a_masked_summary(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    ordinary = make_complaint()
    urgent = make_complaint("又多扣电费，我要投诉到12398", severity=Severity.P2)
    routed(services, prefix, table, [ordinary, urgent])

    result = desk(services, prefix, "claim", "billing_metering", "--json")
    assert result.exit_code == 0, result.output
    claimed = json.loads(result.output)
    assert claimed["case_id"] == urgent.case_id
    assert claimed["handler"] == "zhang.wei" and claimed["incident"] is None
    human = desk(services, prefix, "claim", "billing_metering", "--handler", "li.na")
    assert human.exit_code == 0
    assert ordinary.case_id in human.output and "138****5678" in human.output
    assert "13812345678" not in human.output
    assert desk(services, prefix, "claim", "billing_metering").output == ""


def test_a_handler_renews_releases_and_completes_their_case(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    (decision,) = routed(services, prefix, table, [make_complaint(category=Category.OUTAGE)])
    case = decision.case_id
    assert desk(services, prefix, "claim", "outage_repair", "--lease", "60").exit_code == 0
    renewed = desk(services, prefix, "renew", case, "--lease", "600")
    assert renewed.exit_code == 0 and "lease held by zhang.wei" in renewed.output
    assert desk(services, prefix, "release", case).exit_code == 0
    again = json.loads(desk(services, prefix, "claim", "outage_repair", "--json").output)
    assert (again["case_id"], again["claim_count"]) == (case, 2)
    done = desk(services, prefix, "complete", case)
    assert done.exit_code == 0 and "completed by zhang.wei" in done.output
    assert desk(services, prefix, "claim", "outage_repair").output == ""


def test_someone_elses_case_cannot_be_released(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    (decision,) = routed(services, prefix, table, [make_complaint()])
    desk(services, prefix, "claim", "billing_metering")
    message = user_error(desk(services, prefix, "release", decision.case_id,
                              "--handler", "li.na"))
    assert message == (f"cannot release: case {decision.case_id} is claimed by zhang.wei, "
                       "not by you")


def test_claim_of_an_unknown_queue_names_the_known_ones(
    services: EmbeddedServices, prefix: str
) -> None:
    message = user_error(desk(services, prefix, "claim", "vipdesk"))
    assert message.startswith("unknown queue 'vipdesk'; queues: outage_repair, ")


def test_an_unreachable_redis_is_one_clear_line(services: EmbeddedServices, prefix: str) -> None:
    port = free_port()
    message = user_error(desk(services, prefix, "queues",
                              redis_url=f"redis://:secret@127.0.0.1:{port}/0"))
    assert message.startswith(f"cannot reach Redis at 127.0.0.1:{port}")
    assert "secret" not in message and "\n" not in message


def test_a_hostile_summary_is_shown_as_written(
    services: EmbeddedServices, prefix: str, table: RoutingTable
) -> None:
    hostile = make_complaint("[/] 电费[red]多扣了[/red] :fire: 13812345678")
    routed(services, prefix, table, [hostile])
    result = desk(services, prefix, "claim", "billing_metering")
    assert result.exit_code == 0, result.output
    assert "[/] 电费[red]多扣了[/red] :fire: 138****5678" in result.output
    assert "13812345678" not in result.output


@pytest.mark.parametrize("handler", ["[/]", "zhang wei", "\x1b[31mroot", "x" * 65])
def test_a_handler_name_that_is_no_login_is_refused(
    services: EmbeddedServices, prefix: str, handler: str
) -> None:
    message = user_error(desk(services, prefix, "claim", "general", "--handler", handler))
    assert message.startswith("--handler must be 1-64 letters, digits or . _ @ -")
