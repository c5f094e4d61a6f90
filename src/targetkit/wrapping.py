"""How many lines a wrapped cell takes, so the writer can give its row the height to show it.

Excel and LibreOffice do not grow a row that a file gives no height: a wrapped text in a row
of the default height shows its first line and the others spill over the rows below. The
workbook writer therefore sets the height itself, from the text and the column's width.
A column's width counts digits ('0' of the default font): a capital or an m or w is wider than
a digit, most small letters and punctuation narrower; each character is weighed so (a little
generously), so the estimate errs towards a line too many, never one too few.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

LINE_POINTS = 15.0  # a line of 11-point Calibri, Excel's default row height
MAX_ROW_POINTS = 409.0  # the tallest row Excel allows
PADDING = 1  # characters of a column's width taken by the cell's margins
WIDE, NARROW = 1.25, 0.85  # a capital (or m, w) and a small letter, in digits' widths


WIDE_CHARACTERS = re.compile(r"[A-Zmw@%]")  # as wide as WIDE: capitals, m, w, @, %
DIGITS = re.compile(r"\d")


def text_width(text: str) -> float:
    """`text`'s width in digits of the default font."""
    wide = len(WIDE_CHARACTERS.findall(text))
    digits = len(DIGITS.findall(text))
    return WIDE * wide + digits + NARROW * (len(text) - wide - digits)


# a word's width, worked out once: the words of a column's texts repeat (an LA workbook's
# 15,000 findings are ~236,000 words), and this halves the row heights' cost
_word_width = lru_cache(maxsize=1 << 16)(text_width)


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes wrapped in a column `width` characters wide: broken at spaces, as
    Excel does, a word longer than a line broken within it, each line break kept."""
    per_line = max(width - PADDING, 1.0)
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used = 1, 0.0
        for word in paragraph.split(" "):
            size = _word_width(word)
            need = size if used == 0 else used + NARROW + size
            if need <= per_line:
                used = need
                continue
            if used:  # the word starts a new line
                lines += 1
            more = math.ceil(size / per_line) - 1 if size else 0  # lines a long word runs on to
            lines += more
            used = size - more * per_line
        total += lines
    return total


def row_height(lines: int) -> float:
    """Points for a row of `lines` lines, within Excel's limit."""
    return min(LINE_POINTS * max(lines, 1), MAX_ROW_POINTS)


def fits_on_a_line(text: str, width: float) -> bool:
    """True when `text` surely needs no wrapping in a column `width` wide (the quick test:
    even all wide characters would fit)."""
    return WIDE * len(text) <= width - PADDING and "\n" not in text
