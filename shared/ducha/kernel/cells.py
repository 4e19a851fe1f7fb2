"""Formula-safe cells for every spreadsheet and CSV export (one rule, used by all exports).

A text cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return, which some programs
skip before looking for one) is read by Excel, WPS and LibreOffice as a formula: a problem titled
`=HYPERLINK("http://x","y")` would become a live link, or worse, in the office's ledger. Such a text
gets a leading apostrophe, the spreadsheet convention for "this is text" (OWASP's CSV-injection
advice); numbers, dates and empty cells are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
