"""Exact counting: how often a letter occurs in a text, and how many things a list of items holds.

Why tools for counting: a small model cannot count letters (it sees tokens, not characters) or add up "two
nectarines, a banana and three plums" reliably, but it can point at *what* to count — the text and the letter,
or the items that belong to a category. The counting itself is exact here, so an agent's answer is only as
wrong as its choice of what to count.

Item quantities are read from the word in front of the item ("a", "an", "one" ... "twenty", or digits), the way
lists of things are written in English ("two heads of broccoli" counts 2).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tools.errors import PermanentToolError

__all__ = ["CountingError", "ItemCountInput", "LetterCountInput", "count_items", "count_letter", "item_quantity",
           "listed_items", "quoted_spans"]

MAX_TEXT_CHARS = 2000
MAX_ITEMS = 64
_QUANTITY_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_QUANTITY_WORDS.update({"a": 1, "an": 1})


class CountingError(PermanentToolError):
    """The input cannot be counted (an item without a quantity, a letter that is not one letter)."""


class LetterCountInput(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the text to count in")
    letter: str = Field(min_length=1, max_length=1, description="the one letter or digit to count (case is ignored)")


class ItemCountInput(BaseModel):
    items: dict[str, bool] = Field(max_length=MAX_ITEMS,
                                   description="each listed item with its quantity, e.g. 'two plums', and whether it "
                                               "is counted (true) or not (false)")


def count_letter(text: str, letter: str) -> int:
    """How many times `letter` (a letter or a digit: "letters" of a text as generators pick them) occurs in `text`,
    ignoring case."""
    if len(letter) != 1 or not letter.isalnum():
        raise CountingError(f"count one letter or digit, got {letter!r}")
    return text.lower().count(letter.lower())


def item_quantity(item: str) -> int:
    """The quantity an item is listed with: "two heads of broccoli" -> 2, "a frog" -> 1, "3 cars" -> 3."""
    first = item.strip().split(maxsplit=1)[0].lower() if item.strip() else ""
    if first.isdigit():
        return int(first)
    if first not in _QUANTITY_WORDS:
        raise CountingError(f"the item {item!r} does not start with a quantity (a, an, one, two, ... or a number)")
    return _QUANTITY_WORDS[first]


def count_items(items: dict[str, bool]) -> int:
    """The total quantity of the items marked as counted. Every item must carry a quantity, counted or not, so a
    malformed entry is reported rather than silently left out."""
    quantities = {item: item_quantity(item) for item in items}
    return sum(q for item, q in quantities.items() if items[item])


_QUOTED = re.compile(r'"([^"]+)"')
_LIST = re.compile(r"\bI have (.+?)[.?!](?:\s|$)", re.IGNORECASE)
_SEPARATOR = re.compile(r",\s*and\s+|,\s*|\s+and\s+")


def quoted_spans(text: str) -> list[str]:
    """The double-quoted spans of `text`, in order (a question's letter and the text it asks about)."""
    return list(dict.fromkeys(_QUOTED.findall(text)))


def listed_items(text: str) -> list[str]:
    """The entries of the first "I have ..." list in `text` ("a frog", "two plums"), in order; [] if none."""
    match = _LIST.search(text)
    if not match:
        return []
    return list(dict.fromkeys(part.strip() for part in _SEPARATOR.split(match.group(1)) if part.strip()))
