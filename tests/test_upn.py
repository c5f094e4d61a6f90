"""Unique Pupil Numbers: the check-letter rule, validation messages and synthetic UPNs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.upn import ALPHABET, check_letter, make_upns, validate_upns

UPN_EXAMPLES = Path(__file__).resolve().parent / "reference" / "upn_examples.csv"
UPN_SHAPE = re.compile(rf"^[{ALPHABET}][0-9]{{11}}[0-9{ALPHABET}]$")


def reference_check_letter(body: str) -> str:
    """The rule exactly as DATA.md words it, one character at a time, to test the fast version."""
    total = 0
    for position, character in enumerate(body, start=2):
        value = int(character) if character.isdigit() else ALPHABET.index(character)
        total += value * position
    return ALPHABET[total % 23]


def reference_is_valid(upn: str) -> bool:
    text = upn.strip().upper()
    return bool(UPN_SHAPE.match(text)) and reference_check_letter(text[1:]) == text[0]


def value(character: str) -> int:
    return int(character) if character.isdigit() else ALPHABET.index(character)


# ---------------------------------------------------------------------------------------------
# The published examples
# ---------------------------------------------------------------------------------------------


def examples() -> pd.DataFrame:
    return pd.read_csv(UPN_EXAMPLES, dtype=str, keep_default_na=False)


def test_the_examples_file_is_there_and_has_valid_and_invalid_upns() -> None:
    table = examples()
    assert {"upn", "valid", "why"} <= set(table.columns)
    assert set(table["valid"]) == {"true", "false"}


@pytest.mark.parametrize("row", examples().to_dict("records"), ids=lambda row: row["upn"])
def test_every_published_example_is_classified_as_the_file_says(row: dict[str, str]) -> None:
    result = validate_upns(pd.Series([row["upn"]]))
    is_valid = result.loc[0, "problem"] is None
    assert is_valid == (row["valid"] == "true"), f"{row['upn']}: {row['why']}"


def test_the_temporary_example_is_marked_temporary_and_the_others_are_not() -> None:
    table = examples()
    result = validate_upns(table["upn"])
    assert result["temporary"].tolist() == table["upn"].str[-1].str.isalpha().tolist()
    assert result.loc[table["upn"] == "G80120000101A", "temporary"].item()


def test_check_letter_of_the_valid_examples_matches_their_first_character() -> None:
    table = examples()
    valid = table[table["valid"] == "true"]["upn"].reset_index(drop=True)
    assert check_letter(valid.str[1:]).tolist() == valid.str[0].tolist()


# ---------------------------------------------------------------------------------------------
# Messages a data manager can act on
# ---------------------------------------------------------------------------------------------


def test_messages_say_what_is_wrong() -> None:
    upns = pd.Series(["B801200005001", "A801200005001", "B80120000500", "B8012000050O1", None])
    assert validate_upns(upns)["problem"].tolist() == [
        None,
        "wrong check letter: expected B, found A",
        "UPN must be 13 characters (found 12)",
        "UPN has characters that are not allowed",
        "missing UPN",
    ]


@pytest.mark.parametrize("blank", [None, np.nan, pd.NA, "", "   "])
def test_blank_values_are_a_missing_upn(blank: object) -> None:
    result = validate_upns(pd.Series([blank], dtype=object))
    assert result.loc[0, "problem"] == "missing UPN"
    assert pd.isna(result.loc[0, "upn"])
    assert not result.loc[0, "temporary"]


def test_upns_are_stripped_and_upper_cased_before_checking() -> None:
    result = validate_upns(pd.Series(["  b801200005001 ", "g80120000101a"]))
    assert result["upn"].tolist() == ["B801200005001", "G80120000101A"]
    assert result["problem"].tolist() == [None, None]
    assert result["temporary"].tolist() == [False, True]


@pytest.mark.parametrize(
    "upn",
    [
        "1801200005001",  # check letter must be a letter
        "I801200005001",  # I, O and S are never used
        "B8012A0005001",  # a letter among the LA/school/year digits
        "B801200005-01",
        "B80120000500Ä",
        "B80120000500S",  # S is not a UPN letter, even in a temporary serial
    ],
)
def test_characters_outside_the_upn_alphabet_are_not_allowed(upn: str) -> None:
    assert validate_upns(pd.Series([upn]))["problem"].item() == (
        "UPN has characters that are not allowed"
    )


def test_numbers_read_as_numbers_are_reported_not_crashed_on() -> None:
    result = validate_upns(pd.Series([8012000050010, 12.5], dtype=object))
    assert result["problem"].tolist() == [
        "UPN has characters that are not allowed",  # 13 digits: no check letter
        "UPN must be 13 characters (found 4)",
    ]


def test_result_keeps_the_input_index_and_order() -> None:
    upns = pd.Series(["A801200005001", "B801200005001"], index=[17, 3])
    result = validate_upns(upns)
    assert list(result.index) == [17, 3]
    assert list(result.columns) == ["upn", "problem", "temporary"]
    assert result.loc[3, "problem"] is None
    assert result.loc[17, "problem"].startswith("wrong check letter")


def test_empty_input_gives_an_empty_result() -> None:
    result = validate_upns(pd.Series([], dtype=object))
    assert result.empty
    assert list(result.columns) == ["upn", "problem", "temporary"]


def test_check_letter_gives_missing_for_bodies_it_cannot_score() -> None:
    result = check_letter(pd.Series(["801200005001", "80120000500", "8012000050O1", None]))
    assert result.iloc[0] == "B"
    assert result.iloc[1:].isna().all()


# ---------------------------------------------------------------------------------------------
# Synthetic UPNs
# ---------------------------------------------------------------------------------------------


def test_make_upns_gives_distinct_valid_permanent_upns_with_the_given_parts() -> None:
    upns = make_upns(5, la=801, school=2000, year=15, start=1)
    assert len(upns) == 5
    assert [upn[1:10] for upn in upns] == ["801200015"] * 5
    assert [upn[10:] for upn in upns] == ["001", "002", "003", "004", "005"]
    result = validate_upns(pd.Series(upns))
    assert result["problem"].isna().all()
    assert not result["temporary"].any()


def test_make_upns_carries_past_serial_999_into_the_next_school_number() -> None:
    upns = make_upns(3, school=2000, start=999)
    assert [upn[4:8] + upn[10:] for upn in upns] == ["2000999", "2001000", "2001001"]


def test_make_upns_scales_to_a_benchmark_cohort() -> None:
    upns = pd.Series(make_upns(100_000))
    assert upns.is_unique
    assert validate_upns(upns)["problem"].isna().all()


def test_make_upns_refuses_what_cannot_be_a_upn() -> None:
    with pytest.raises(ValueError):
        make_upns(-1)
    with pytest.raises(ValueError):
        make_upns(2_000, school=9999)
    with pytest.raises(ValueError):
        make_upns(1, la=1000)
    assert make_upns(0) == []


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=300),
    la=st.integers(min_value=0, max_value=999),
    school=st.integers(min_value=0, max_value=9000),
    year=st.integers(min_value=0, max_value=99),
    start=st.integers(min_value=0, max_value=5000),
)
def test_made_upns_always_validate(n: int, la: int, school: int, year: int, start: int) -> None:
    upns = make_upns(n, la=la, school=school, year=year, start=start)
    assert len(set(upns)) == n
    assert all(reference_is_valid(upn) for upn in upns)
    result = validate_upns(pd.Series(upns, dtype=object))
    assert result["problem"].isna().all()


valid_bodies = st.builds(
    lambda digits, last: digits + last,
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.sampled_from("0123456789" + ALPHABET),
)


@settings(max_examples=400, deadline=None)
@given(
    body=valid_bodies,
    position=st.integers(min_value=0, max_value=11),
    replacement=st.sampled_from("0123456789" + ALPHABET + "IOS-x "),
)
def test_changing_one_character_of_the_body_is_caught(
    body: str, position: int, replacement: str
) -> None:
    """A single mistyped character is caught: weights 2–13 and character values 0–22 are all
    non-zero modulo the prime 23. The only change that keeps the check letter is a digit in the
    13th place swapped for the letter of the same value (``1`` ↔ ``B``): that is a different,
    temporary, UPN, and the ``temporary`` column shows it."""
    original = reference_check_letter(body) + body
    mutated_body = body[:position] + replacement + body[position + 1 :]
    if mutated_body.upper() == body.upper():
        return  # a change of case is the same UPN (matched in any case), not a mistype
    mutated = original[0] + mutated_body
    before, after = validate_upns(pd.Series([original, mutated])).to_dict("records")
    assert before["problem"] is None
    if after["problem"] is None:
        assert position == 11
        assert value(body[-1]) == value(replacement)
        assert before["temporary"] != after["temporary"]
    else:
        letters = check_letter(pd.Series([body, mutated_body]))
        assert (
            pd.isna(letters.iloc[1])
            or letters.iloc[0] != letters.iloc[1]
            or (position != 11 and replacement.isalpha())
        )


def test_the_one_blind_spot_of_the_check_letter_is_the_temporary_serial() -> None:
    # B801200005001 and B80120000500B have the same check letter (1 and B are both worth 1).
    result = validate_upns(pd.Series(["B801200005001", "B80120000500B"]))
    assert result["problem"].tolist() == [None, None]
    assert result["temporary"].tolist() == [False, True]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabz -", max_size=15)))
def test_validation_agrees_with_the_rule_on_any_text(texts: list[str]) -> None:
    result = validate_upns(pd.Series(texts, dtype=object))
    assert len(result) == len(texts)
    for text, problem in zip(texts, result["problem"], strict=True):
        assert (problem is None) == reference_is_valid(text), text
