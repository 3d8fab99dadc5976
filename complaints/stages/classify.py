"""Classify stage: fills in `Complaint.classification` with the rule pack in force.

Runs inside the intake agent's loop (no extra topic hop: every hop costs throughput),
so its input is the batch of new complaints and its output the same complaints,
classified, which intake publishes to `complaints.classified.v1` keyed by case id.
A changed rule-pack file is picked up between batches; an invalid one is refused and
the running pack stays in force (see `PackReloader`).
"""

import time
from collections.abc import Sequence

from complaints.classifier import PackReloader, classify
from complaints.schemas.complaint import Complaint
from complaints.stages.metrics import CLASSIFICATION_SECONDS, RULE_PACK_INFO


def classify_complaints(
    complaints: Sequence[Complaint], reloader: PackReloader
) -> list[Complaint]:
    """Each complaint with its classification, made by the current rule pack."""
    if reloader.maybe_reload():
        RULE_PACK_INFO.info({"version": reloader.current().version})
    pack = reloader.current()
    classified = []
    for complaint in complaints:
        started = time.perf_counter()
        result = classify(
            complaint.text_normalised,
            pack,
            customer_tier=complaint.customer.tier,
            industry_hint=complaint.industry_hint,
            normalised=True,  # `text_normalised` is `analysis_text` output already
        )
        CLASSIFICATION_SECONDS.observe(time.perf_counter() - started)
        classified.append(complaint.model_copy(update={"classification": result}))
    return classified
