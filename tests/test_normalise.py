"""Normalisation: one analysable form for every text, original words kept, PII masked."""

import random
import re
import subprocess
import tempfile
import unicodedata
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import opencc
import pytest

from complaints.normalise import (
    MASK_FORMATS,
    NOT_PERSONAL_DATA,
    PHRASE_ONLY_TRADITIONAL,
    analysis_text,
    analysis_text_again,
    case_id_for,
    mask_personal_data,
    to_complaint,
    to_simplified,
    traditional_characters,
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


# --- to_simplified skips OpenCC for texts it would not change --------------------------


def test_simplified_text_is_returned_untouched_without_opencc() -> None:
    text = "停电三天了没人管，电费还照扣！ATM 12398 😡"
    assert to_simplified(text) is text


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("停電三天了沒人管", "停电三天了没人管"),
        ("回覆很慢", "回复很慢"),  # 覆 alone stays 覆: only the phrase 回覆 converts
        ("他一直沈默", "他一直沉默"),
        ("他在找藉口", "他在找借口"),
        ("明瞭了", "明了了"),
    ],
)
def test_traditional_text_is_still_converted(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified == _opencc_t2s(traditional)


def test_every_character_opencc_converts_alone_is_known() -> None:
    """Probe all of Unicode, not only the CJK blocks `traditional_characters` probes."""
    chars = [chr(code) for code in range(1, 0x110000) if not 0xD800 <= code <= 0xDFFF]
    chars.remove("\n")
    converted = _opencc_t2s("\n".join(chars)).split("\n")
    assert len(converted) == len(chars)
    changed = {char for char, result in zip(chars, converted, strict=True) if char != result}
    assert changed <= traditional_characters()


def test_characters_only_phrases_convert_are_known() -> None:
    """Derive `PHRASE_ONLY_TRADITIONAL` again from the installed `TSPhrases` dictionary."""
    package = Path(opencc.__file__).parent / "clib"
    tool = package / "bin" / "opencc_dict"
    dictionary = package / "share" / "opencc" / "TSPhrases.ocd2"
    if not (tool.exists() and dictionary.exists()):
        pytest.skip("opencc_dict or TSPhrases.ocd2 not shipped with this OpenCC build")
    with tempfile.TemporaryDirectory() as tmp:
        dumped = Path(tmp) / "TSPhrases.txt"
        subprocess.run(
            [tool, "-i", dictionary, "-o", dumped, "-f", "ocd2", "-t", "text"], check=True
        )
        phrases = [line.split("\t")[0] for line in dumped.read_text("utf-8").splitlines()]
    assert len(phrases) > 100
    trigger = traditional_characters()
    assert trigger >= PHRASE_ONLY_TRADITIONAL
    for phrase in phrases:  # a phrase t2s changes cannot hide in a text without triggers
        if _opencc_t2s(phrase) != phrase:
            assert not trigger.isdisjoint(phrase), phrase


def test_texts_are_converted_exactly_as_opencc_converts_them() -> None:
    rng = random.Random(5)
    some_traditional = sorted(traditional_characters())[:400]
    pool = [*"停电没人管电费回覆沈默藉口瞭解衹牴觸，。!? a1😡", *some_traditional]
    for _ in range(3000):
        text = "".join(rng.choices(pool, k=rng.randint(0, 30)))
        assert to_simplified(text) == _opencc_t2s(text), text


@pytest.mark.parametrize(
    "raw",
    [
        "停电了，电费多扣！",
        "<p>停電&nbsp;了</p>",
        "&lt;b&gt;停电&lt;/b&gt;",  # the second pass removes the tag the first one unescaped
        "&amp;nbsp;电费",
        "薴麻地停电",  # t2s: 薴 → 苧 → 苎
        "畢昇路停电",  # t2s: 畢昇 → 毕昇 → 毕升
        "ＡＴＭ\u3000吞卡\u200b了",
    ],
)
def test_analysis_text_again_is_a_second_analysis_text(raw: str) -> None:
    once = analysis_text(raw)
    assert analysis_text_again(once) == analysis_text(once)


@cache
def _opencc() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _opencc_t2s(text: str) -> str:
    """OpenCC itself, without the shortcut of `to_simplified`."""
    return _opencc().convert(text)


def test_masking_keeps_length_so_evidence_offsets_stay_valid() -> None:
    for text in ["电话+86 138-1234-5678", "身份证11010119900307123X", "座机0571-87654321"]:
        masked = mask_personal_data(text)
        assert len(masked) == len(text) and masked != text


def test_outbound_complaint_masking_covers_texts_and_contact() -> None:
    from complaints.normalise import mask_complaint

    event = WebEvent(event_id="w1", occurred_at=datetime(2026, 11, 24, tzinfo=UTC),
                     form_id="F", contact={"phone": "13812345678"},
                     body="回电13912345678，身份证110101199003071234")
    masked = mask_complaint(to_complaint(event, "web", datetime.now(UTC)))
    dumped = masked.model_dump_json()
    for secret in ("13812345678", "13912345678", "199003071234"):
        assert secret not in dumped
    assert masked.contact.phone == "138****5678"


# --- the masking table: every format, its examples, and what must stay -------------------

MASKED_EXAMPLES = [pytest.param(text, masked, id=f"{fmt.name.split(',')[0]}: {text}")
                   for fmt in MASK_FORMATS for text, masked in fmt.examples]
#: The most digits any format leaves side by side: an ID card's region code, a bank
#: card's issuer prefix (6), or a country code with a mobile's prefix (+86 138 → 5).
LONGEST_KEPT_RUN = 6


def digit_runs(text: str) -> list[str]:
    """Runs of adjacent digits in `text`, full-width digits counted as digits."""
    return re.findall(r"[0-9]+", unicodedata.normalize("NFKC", text))


def digits(text: str) -> str:
    """All digits of `text`, as one string: the number without its separators."""
    return "".join(digit_runs(text))


@pytest.mark.parametrize(("text", "masked"), MASKED_EXAMPLES)
def test_every_format_in_the_table_is_masked_as_documented(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked
    assert len(masked) == len(text)  # evidence offsets stay valid
    assert digits(text) not in digits(masked)  # not even with its separators removed
    assert max(map(len, digit_runs(masked))) <= LONGEST_KEPT_RUN, "a run of the number survives"
    assert sum(c == "*" for c in masked) - text.count("*") >= 4  # at least 4 digits hidden
    assert mask_personal_data(masked) == masked  # masking again changes nothing


@pytest.mark.parametrize("text", NOT_PERSONAL_DATA)
def test_amounts_dates_times_and_short_numbers_are_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_every_format_is_masked_inside_running_text() -> None:
    numbers = [text for fmt in MASK_FORMATS for text, _ in fmt.examples]
    text = "客户来电，" + "；又说".join(numbers) + "。赔偿300元，2026-11-24 09:30回电。"
    masked = mask_personal_data(text)
    assert len(masked) == len(text)
    assert max(map(len, digit_runs(masked))) <= LONGEST_KEPT_RUN
    assert "赔偿300元，2026-11-24 09:30回电" in masked


@pytest.mark.parametrize("separator", [" ", "-", ".", "－", "\u3000", " - "])
def test_mobile_numbers_are_masked_whatever_separates_the_groups(separator: str) -> None:
    text = f"电话138{separator}1234{separator}5678"
    assert "1234" not in mask_personal_data(text)
