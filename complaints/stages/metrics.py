"""Prometheus metric families of a worker; every name starts with `complaints_`."""

from prometheus_client import Counter, Histogram, Info

STAGE_EVENTS = Counter(
    "complaints_stage_events",
    "Events handled per stage and outcome (in, out, dead_lettered, duplicate).",
    ["stage", "outcome"],
)
DEAD_LETTERED = Counter(
    "complaints_dead_lettered",
    "Inputs sent to the dead-letter topic, by reason.",
    ["reason"],
)
CLASSIFICATION_SECONDS = Histogram(
    "complaints_classification_seconds",
    "Time to classify one complaint text.",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1),
)
RULE_PACK_INFO = Info("complaints_rule_pack", "Rule pack in force.")
CASE_EVENTS = Counter(
    "complaints_case_events",
    "Case events published, by type (transitions, rejections, SLA warnings and breaches).",
    ["event_type"],
)
RESOLUTIONS = Counter(
    "complaints_resolutions", "Cases ended (resolution events), by outcome.", ["outcome"]
)
SLA_WARNINGS = Counter(
    "complaints_sla_warnings", "Deadline warnings fired (at the warn share).", ["deadline"]
)
SLA_BREACHES = Counter(
    "complaints_sla_breaches", "Deadlines breached (each escalates its case).", ["deadline"]
)
