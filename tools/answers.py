"""Pulling the final answer out of a model's text, and normalising it: the one answer extraction of the project.

Why: Symphony aggregates K chains of thought by (weighted) majority vote, Echo rewards correct answers and the
scheduler's suite scores exact matches, so "47", "47.0", "**Answer:** 47." and "\\boxed{47}" must all become
the same string, while an output with no recognisable answer must be reported as None (the executor then
retries or abstains, a reward is zero) rather than guessed.

Extraction precedence (the most explicit marker wins; within a kind the LAST occurrence wins, because models
restate the question first and conclude last):
  1. <answer>X</answer> (Echo's prompts ask for it; an unclosed last tag counts up to the end of the text,
     since generation may stop at the closing tag or run out of tokens)
  2. \\boxed{X} (nested braces handled)   3. "Answer: X" / "The answer is X" / "Final answer: X"
  4. "#### X" (GSM8K style)               5. an option letter "(B)" on the last non-empty line
  6. the last number in the text (callers switch this off where an answer need not be a number)
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = ["answers_equal", "extract_answer", "extract_boxed", "extract_tagged", "normalize_answer", "normalize_number"]

_NUMBER = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+"
_NUMBER_RE = re.compile(rf"(?<![\w.])(?:{_NUMBER})(?:\s*/\s*(?:\d+))?(?![\w])")
_ANSWER_RE = re.compile(
    r"(?i)\b(?:final\s+answer|answer)\s*(?:\*\*)?\s*(?:is\s*:?|[:=])\s*(?:\*\*)?[ \t]*\n?[ \t]*(?P<ans>[^\n]*)"
)
_HASHES_RE = re.compile(r"(?m)####\s*(?P<ans>[^\n]*)")
_OPTION_RE = re.compile(r"\(([A-J])\)")
_SENTENCE_END_RE = re.compile(r"\.\s+(?=[A-Z])")
_PLACEHOLDER_RE = re.compile(r"<[^<>]*>|\[[^\[\]]*answer[^\[\]]*\]", re.IGNORECASE)
_TAG_RE = re.compile(r"<answer>(?P<ans>.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPEN_TAG_RE = re.compile(r"<answer>(?P<ans>(?:(?!</?answer>).)*)\Z", re.DOTALL | re.IGNORECASE)


def extract_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), respecting nested braces; None if absent/unclosed."""
    starts = [m.end() for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)]
    for start in reversed(starts):
        depth, i = 1, start
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[start : i - 1].strip()
    return None


def _clean_tail(answer: str) -> str:
    """Trim what follows the answer on its line: a following sentence, trailing punctuation, markdown."""
    answer = _SENTENCE_END_RE.split(answer, maxsplit=1)[0]
    answer = answer.strip().strip("*").strip()
    return answer.rstrip(".").strip()


def extract_tagged(text: str) -> str | None:
    """Content of the last non-empty <answer>...</answer>, else of an unclosed <answer> ending the text."""
    closed = [m.group("ans") for m in _TAG_RE.finditer(text)]
    unclosed = _OPEN_TAG_RE.search(text)
    for candidate in reversed(closed + ([unclosed.group("ans")] if unclosed else [])):
        answer = candidate.strip()
        if answer and not _PLACEHOLDER_RE.fullmatch(answer):  # "<answer></answer>" echoed from the prompt
            return extract_boxed(answer) or answer
    return None


def extract_answer(text: str, *, allow_last_number: bool = True) -> str | None:
    """The final answer as written (not normalised), or None when the text commits to nothing."""
    if not isinstance(text, str):
        raise TypeError(f"extract_answer expects str, got {type(text).__name__}")
    tagged = extract_tagged(text)
    if tagged:
        return tagged
    boxed = extract_boxed(text)
    if boxed:
        return boxed
    for pattern in (_ANSWER_RE, _HASHES_RE):
        # An echoed template ("Answer: <final answer>") commits to nothing: small models copy the instruction.
        tails = [_clean_tail(m.group("ans")) for m in pattern.finditer(text)]
        matches = [t for t in tails if t and not _PLACEHOLDER_RE.fullmatch(t)]
        if matches:
            answer = matches[-1]
            inner = extract_boxed(answer)
            return inner or answer
    lines = [line for line in text.splitlines() if line.strip()]
    if lines:
        options = _OPTION_RE.findall(lines[-1])
        if options:
            return f"({options[-1]})"
    if allow_last_number:
        numbers = _NUMBER_RE.findall(text)
        if numbers:
            return numbers[-1]
    return None


def normalize_number(text: str) -> str | None:
    """Canonical form of a number ("1,234.50" -> "1234.5", "3.0" -> "3", "6/4" -> "3/2", "-0" -> "0"), or None."""
    s = text.strip().replace("−", "-").replace(" ", "")
    frac = re.fullmatch(r"([-+]?\d+)/(\d+)", s) or re.fullmatch(r"([-+]?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}", s)
    if frac:
        if len(frac.groups()) == 3:
            sign, num, den = frac.groups()
            num = f"{sign}{num}"
        else:
            num, den = frac.groups()
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if not re.fullmatch(_NUMBER, s):
        return None
    try:
        value = Decimal(s.replace(",", ""))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def normalize_answer(answer: str) -> str:
    """Canonical string for voting: lowercase, trimmed, LaTeX/markdown wrappers and units dropped, numbers canonical,
    option letters reduced to the bare letter ("(B) blue" -> "b")."""
    s = answer.strip()
    s = extract_boxed(s) or s
    s = re.sub(r"\\text\{([^{}]*)\}", r"\1", s)
    s = s.strip().strip("$").strip("*").strip()
    s = s.rstrip(".").strip()
    s = re.sub(r"\s+", " ", s).lower()
    option = re.fullmatch(r"\(([a-j])\)(?:\s.*)?|([a-j])[.)](?:\s.*)?|([a-j])", s)
    if option:
        return next(g for g in option.groups() if g)
    number = normalize_number(s)
    if number is not None:
        return number
    # "$1,200", "45%", "150 miles", "12 dollars": keep the number when one currency sign or unit word wraps it.
    wrapped = re.fullmatch(rf"[$€£]?\s*({_NUMBER}|[-+]?\d+/\d+)\s*(?:%|[a-z]+)?", s)
    if wrapped:
        number = normalize_number(wrapped.group(1))
        if number is not None:
            return number
    return s


def answers_equal(a: str | None, b: str | None) -> bool:
    """True when both answers exist and normalise to the same string."""
    return a is not None and b is not None and normalize_answer(a) == normalize_answer(b)
