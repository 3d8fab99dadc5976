"""Normalisation: one analysable form for every text, original words kept, PII masked."""

from datetime import UTC, datetime

from complaints.normalise import (
    analysis_text,
    case_id_for,
    mask_personal_data,
    to_complaint,
)
from complaints.schemas.intake import CallCenterEvent, WebEvent


def test_traditional_text_is_analysed_in_simplified_form() -> None:
    assert analysis_text("電費太貴，停電三天沒人管") == "电费太贵,停电三天没人管"


def test_html_entities_control_characters_and_full_width_forms_are_cleaned() -> None:
    assert analysis_text("<p>停电&nbsp;了\u200b！</p><br/>ＡＢＣ") == "停电 了! ABC"


def test_phone_and_id_card_numbers_are_masked_for_logs() -> None:
    masked = mask_personal_data("电话13812345678，身份证110101199003071234，座机0571-87654321")
    assert "13812345678" not in masked and "138****5678" in masked
    assert "199003071234" not in masked and "110101********1234" in masked
    assert "87654321" not in masked


def test_case_id_is_stable_for_the_same_source_event() -> None:
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    assert case_id_for("web", "e1", at) == case_id_for("web", "e1", at)
    assert case_id_for("web", "e1", at) != case_id_for("callcenter", "e1", at)
    assert case_id_for("web", "e1", at).startswith("C20261124-")


def test_web_event_keeps_original_text_and_gets_normalised_subject_and_body() -> None:
    event = WebEvent(event_id="w1", occurred_at=datetime(2026, 11, 24, tzinfo=UTC),
                     form_id="F", subject="電費異常", body="<b>本月電費</b>多扣了")
    complaint = to_complaint(event, "web", datetime.now(UTC))
    assert complaint.text_original == "<b>本月電費</b>多扣了"
    assert complaint.text_normalised == "电费异常。本月电费多扣了"
    assert complaint.source_event_ids == ["w1"]


def test_call_center_event_joins_summary_and_transcript_and_keeps_caller() -> None:
    event = CallCenterEvent(event_id="c1", occurred_at=datetime(2026, 11, 24, tzinfo=UTC),
                            call_id="CALL-1", caller_number="13812345678",
                            summary="客户反映停电", transcript="喂，我家停电了")
    complaint = to_complaint(event, "callcenter", datetime.now(UTC))
    assert complaint.text_original == "客户反映停电\n喂，我家停电了"
    assert complaint.contact.phone == "13812345678"
    assert complaint.channel == "hotline"
