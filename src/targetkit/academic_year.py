"""The academic year: 1 September to 31 August (SPEC §7), written `2026/27`.

One parser for every command's `--academic-year` and for the year set-targets records.
"""

from __future__ import annotations

import datetime as dt
import re

from targetkit.errors import UsageError


def parse_academic_year(text: str | None, today: dt.date | None = None) -> int:
    """The starting calendar year of an academic year: `2026/27` → 2026; None → today's year.

    The academic year runs 1 September to 31 August (SPEC §7).
    """
    if text is None:
        today = today or dt.date.today()
        return today.year if today.month >= 9 else today.year - 1
    match = re.fullmatch(r"\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*", text)
    if not match or int(match[2]) % 100 != (int(match[1]) + 1) % 100:
        raise UsageError(
            f"--academic-year {text!r} is not an academic year", hint="write it as 2026/27"
        )
    return int(match[1])


def academic_year_text(start: int) -> str:
    """2026 → `2026/27`."""
    return f"{start}/{(start + 1) % 100:02d}"
