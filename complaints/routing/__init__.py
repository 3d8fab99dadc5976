"""Routing: which handler queue a complaint goes to, with what priority, and why.

`table.py` reads the routing table (a YAML data file, `docs/routing.md`), `decide.py`
holds the pure decision `route(complaint, table, context) -> RoutingDecision`, and
`incidents.py` the mass-incident window rule as a pure twin of the Lua script that
applies it in Redis. Redis state (work queues, customer history, incidents) lives in
`complaints.store`; the stage that ties them together is `complaints.stages.route`.
"""

from complaints.routing.decide import (
    IncidentKey,
    IncidentMembership,
    RoutingContext,
    incident_id_for,
    incident_key,
    incident_route,
    repeat_subject,
    reroute,
    route,
    work_item,
)
from complaints.routing.exceptions import RoutingTableError
from complaints.routing.table import (
    RoutingTable,
    default_table_path,
    load_default_table,
    load_table,
)

__all__ = [
    "IncidentKey",
    "IncidentMembership",
    "RoutingContext",
    "RoutingTable",
    "RoutingTableError",
    "default_table_path",
    "incident_id_for",
    "incident_key",
    "incident_route",
    "load_default_table",
    "load_table",
    "repeat_subject",
    "reroute",
    "route",
    "work_item",
]
