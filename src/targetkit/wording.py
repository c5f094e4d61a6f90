"""Small helpers for the words of messages: a count with its noun spelt right ("1 file")."""

from __future__ import annotations


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The noun for `count` things: `file` for 1, `files` otherwise (or the given plural)."""
    return singular if count == 1 else (plural or f"{singular}s")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`, `0 files`: a count and its noun."""
    return f"{count} {noun(count, singular, plural)}"
