"""Errors of the routing package."""


class RoutingTableError(ValueError):
    """A routing table that cannot be used; the message names file, rule and field.

    Raised on load, before any complaint is routed, so a broken table never reaches a
    worker: `routes.yaml: rule 'vip.desk': queue: unknown queue 'vipdesk'`.
    """
