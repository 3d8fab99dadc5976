"""The shipped pack must not get worse on the shipped labelled set.

Floors are the values measured for rule pack 2025.11.2 on the 533-text set, minus 0.02
(recalls rounded down), so a pack change that costs more than about one text per
category fails here. Raise them when the pack improves; never lower them to let a change
through without saying why.
"""

import pytest

from complaints.classifier import RulePack
from complaints.classifier.evaluation import (
    EvaluationReport,
    SetReport,
    default_labelled_path,
    eval_dir,
    evaluate,
    evaluate_set,
    load_labelled,
    load_set,
)

MACRO_F1_FLOOR = 0.90  # measured 0.922; 0.920 with the real-text pack (issue 13)
KIND_ACCURACY_FLOOR = 0.94  # measured 0.968
INDUSTRY_ACCURACY_FLOOR = 0.89  # measured 0.916 (no industry hints in the set)
SEVERITY_ACCURACY_FLOOR = 0.93  # measured 0.955

RECALL_FLOORS = {  # measured recall − 0.02
    "outage": 0.88,  # 0.909
    "power_quality": 0.98,  # 1.000
    "billing": 0.91,  # 0.935
    "metering": 0.90,  # 0.923
    "connection": 0.89,  # 0.917
    "repair": 0.81,  # 0.833
    "network": 0.92,  # 0.946
    "sales": 0.81,  # 0.833
    "staff_conduct": 0.73,  # 0.750
    "process": 0.91,  # 0.935
    "delivery": 0.95,  # 0.973
    "product_quality": 0.98,  # 1.000
    "claims": 0.86,  # 0.889
    "medical": 0.94,  # 0.963
    "banking": 0.90,  # 0.926
    "safety": 0.93,  # 0.958
    "privacy": 0.93,  # 0.957
    "other": 0.94,  # 0.963
}


@pytest.fixture(scope="module")
def report(default_pack: RulePack) -> EvaluationReport:
    return evaluate(default_pack, load_labelled(default_labelled_path()))


def test_labelled_set_is_the_full_set(report: EvaluationReport) -> None:
    assert report.items >= 400


def test_macro_f1_stays_above_its_floor(report: EvaluationReport) -> None:
    assert report.macro_f1 >= MACRO_F1_FLOOR


def test_kind_industry_and_severity_accuracy_stay_above_their_floors(
    report: EvaluationReport,
) -> None:
    assert report.kind_accuracy >= KIND_ACCURACY_FLOOR
    assert report.industry_accuracy >= INDUSTRY_ACCURACY_FLOOR
    assert report.severity_accuracy >= SEVERITY_ACCURACY_FLOOR


@pytest.mark.parametrize(("category", "floor"), sorted(RECALL_FLOORS.items()))
def test_category_recall_stays_above_its_floor(
    report: EvaluationReport, category: str, floor: float
) -> None:
    assert report.recall(category) >= floor


# ---- real text (issue 13): the fixed test split of real shop reviews and the real
# customer questions (docs/classifier-evaluation.md). The thresholds are the
# floors; where the pack does not reach one yet the test is a strict xfail stating the
# measured value (it fails, and must be turned into a plain floor, once reached), and
# a regression floor just below the measured value keeps the pack from getting worse.

REAL_CATEGORY_FLOOR = 0.85  # issue 13; measured 0.866 on the test split (pack 2026.12.1)
REAL_COMPLAINT_FLOOR = 0.97  # issue 13; measured 0.941
REAL_OTHER_CEILING = 0.05  # issue 13; measured 0.049 (met with pack 2026.12.1)
QUESTIONS_INQUIRY_FLOOR = 0.90  # issue 13; measured 0.876 on the questions' test split
REAL_COMPLAINT_REGRESSION = 0.93
REAL_OTHER_REGRESSION = 0.07
QUESTIONS_INQUIRY_REGRESSION = 0.86
QUESTIONS_MORE_INQUIRY_REGRESSION = 0.88  # questions_more.jsonl (dev); measured 0.909


@pytest.fixture(scope="module")
def real_test(default_pack: RulePack) -> SetReport:
    items = [i for i in load_set(eval_dir() / "shopping_labelled.jsonl") if i.split == "test"]
    return evaluate_set(default_pack, items, "shopping_labelled [test]")


@pytest.fixture(scope="module")
def questions_test(default_pack: RulePack) -> SetReport:
    items = [i for i in load_set(eval_dir() / "questions.jsonl") if i.split == "test"]
    return evaluate_set(default_pack, items, "questions [test]")


def test_real_review_test_split_is_the_fixed_one(real_test: SetReport) -> None:
    assert real_test.items == 328


def test_real_reviews_get_an_acceptable_category(real_test: SetReport) -> None:
    assert real_test.category_accuracy >= REAL_CATEGORY_FLOOR


def test_real_reviews_stay_complaints_and_rarely_other_regression(real_test: SetReport) -> None:
    assert real_test.complaint_recall >= REAL_COMPLAINT_REGRESSION
    assert real_test.other_rate <= REAL_OTHER_REGRESSION


@pytest.mark.xfail(strict=True, reason="issue 13 threshold not reached: complaint 0.941")
def test_real_reviews_are_complaints(real_test: SetReport) -> None:
    assert real_test.complaint_recall >= REAL_COMPLAINT_FLOOR


def test_real_reviews_are_rarely_other(real_test: SetReport) -> None:
    assert real_test.other_rate <= REAL_OTHER_CEILING


def test_real_questions_are_inquiries_regression(questions_test: SetReport) -> None:
    assert questions_test.inquiry_recall >= QUESTIONS_INQUIRY_REGRESSION


@pytest.mark.xfail(strict=True, reason="issue 13 threshold not reached: inquiry 0.876")
def test_real_questions_are_inquiries(questions_test: SetReport) -> None:
    assert questions_test.inquiry_recall >= QUESTIONS_INQUIRY_FLOOR


def test_more_real_questions_are_inquiries(default_pack: RulePack) -> None:
    """The second round of real questions (all dev), tuned on: a regression floor."""
    items = load_set(eval_dir() / "questions_more.jsonl")
    assert len(items) >= 150
    report = evaluate_set(default_pack, items, "questions_more")
    assert report.inquiry_recall >= QUESTIONS_MORE_INQUIRY_REGRESSION
