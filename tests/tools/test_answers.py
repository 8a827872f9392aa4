"""Answer extraction and normalisation: every accepted format, precedence, and the cases that must give None."""

from __future__ import annotations

import pytest

from tools.answers import answers_equal, extract_answer, extract_boxed, extract_tagged, normalize_answer, normalize_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So the total is 47.\nAnswer: 47", "47"),
        ("Answer: 47. I hope this helps.", "47"),
        ("**Answer:** 1,234", "1,234"),
        ("**Answer**: blue", "blue"),
        ("The answer is 3.5 hours.", "3.5 hours"),
        ("Final answer: x = 5", "x = 5"),
        ("answer:\n  12", "12"),
        ("We get \\boxed{5}.", "5"),
        ("First \\boxed{4}, corrected: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("Answer: \\boxed{42}", "42"),
        ("Natalia sold 48 + 24 = 72 clips.\n#### 72", "72"),
        ("The options are (A) red (B) blue.\nI pick (B)", "(B)"),
        ("Adding them gives 12 + 35 = 47", "47"),
        ("The temperature dropped to -7 degrees", "-7"),
        ("It costs 0.75 dollars, i.e. 3/4", "3/4"),
        ("Answer: first\nmore reasoning\nAnswer: second", "second"),
    ],
)
def test_extract_answer_formats(text: str, expected: str) -> None:
    assert extract_answer(text) == expected


def test_precedence_tag_over_boxed_over_answer_over_hashes_over_number() -> None:
    assert extract_answer("\\boxed{5}\nAnswer: 3\n<answer>7</answer> then 6") == "7"
    assert extract_answer("Answer: 3\n#### 4\n\\boxed{5} then 6") == "5"
    assert extract_answer("#### 4\nAnswer: 3\nthen 6") == "3"
    assert extract_answer("#### 4\nthen 6") == "4"
    assert extract_answer("(A) 1 (B) 2\nIt is (C) since 7 > 6") == "(C)"


@pytest.mark.parametrize("text", ["", "   \n ", "I am not sure.", "Answer:", "Let me think about x and y."])
def test_no_answer_is_none(text: str) -> None:
    assert extract_answer(text) is None


def test_last_number_can_be_disabled() -> None:
    assert extract_answer("it is 42", allow_last_number=False) is None
    assert extract_answer("Answer: 42", allow_last_number=False) == "42"


def test_numbers_inside_words_are_not_answers() -> None:
    assert extract_answer("Use the x2 key and the H2O formula") is None


def test_extract_boxed_nested_and_unclosed() -> None:
    assert extract_boxed("\\boxed{\\frac{a}{b}} ok") == "\\frac{a}{b}"
    assert extract_boxed("\\fbox{7}") == "7"
    assert extract_boxed("\\boxed{unclosed") is None
    assert extract_boxed("no box") is None


def test_extract_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        extract_answer(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3.0", "3"),
        ("3.50", "3.5"),
        ("1,234", "1234"),
        ("1,234.00", "1234"),
        ("-0", "0"),
        ("+5", "5"),
        (".5", "0.5"),
        ("−2", "-2"),
        ("1e3", "1000"),
        ("6/4", "3/2"),
        ("8/4", "2"),
        ("\\frac{1}{2}", "1/2"),
        ("\\dfrac{-3}{6}", "-1/2"),
        ("1/0", None),
        ("abc", None),
        ("1,23", None),
    ],
)
def test_normalize_number(raw: str, expected: str | None) -> None:
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  47 ", "47"),
        ("47.0", "47"),
        ("$1,200", "1200"),
        ("$1,200.50.", "1200.5"),
        ("45%", "45"),
        ("150 miles", "150"),
        ("**72**", "72"),
        ("\\boxed{72}", "72"),
        ("$\\frac{3}{6}$", "1/2"),
        ("(B)", "b"),
        ("(b) blue", "b"),
        ("C.", "c"),
        ("D) yellow", "d"),
        ("Blue", "blue"),
        ("  New   York  City. ", "new york city"),
        ("\\text{Paris}", "paris"),
        ("a dog", "a dog"),
        ("3 apples and 2 pears", "3 apples and 2 pears"),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_answers_equal_for_voting() -> None:
    votes = ["Answer: 47", "The answer is 47.0", "\\boxed{47}", "#### 47", "so 47"]
    extracted = [extract_answer(v) for v in votes]
    assert len({normalize_answer(a) for a in extracted if a}) == 1
    assert answers_equal("(B)", "b) blue")
    assert not answers_equal("47", "48")
    assert not answers_equal(None, "47") and not answers_equal(None, None)


@pytest.mark.parametrize("text", ["Answer: <final answer>", "The steps are done.\nAnswer: [your answer]", "Final answer: <answer>"])
def test_an_echoed_answer_template_commits_to_nothing(text):
    assert extract_answer(text, allow_last_number=False) is None


def test_a_real_answer_after_an_echoed_template_still_counts():
    assert extract_answer("Format: Answer: <final answer>\n12 + 35 = 47\nAnswer: 47") == "47"


@pytest.mark.parametrize(
    ("text", "tagged"),
    [
        ("<answer>42</answer>", "42"),
        ("Thinking: 3 + 4 = 7.\n<answer> 7 </answer>", "7"),
        ("<answer>1</answer> no, <answer>2</answer>", "2"),
        ("<ANSWER>blue</ANSWER>", "blue"),
        ("<answer>\\boxed{3}</answer>", "3"),
        ("Reply inside <answer></answer>. So <answer>9", "9"),  # generation stopped at the closing tag
        ("<answer>4</answer> and then <answer>", "4"),
        ("<answer><final answer></answer>", None),
        ("<answer>   </answer>", None),
    ],
)
def test_answer_tag(text: str, tagged: str | None) -> None:
    assert extract_tagged(text) == tagged
    assert extract_answer(text, allow_last_number=False) == tagged


def test_an_empty_tag_leaves_the_other_markers() -> None:
    text = "Reply inside <answer></answer>. The answer is 5"
    assert extract_tagged(text) is None and extract_answer(text) == "5"
