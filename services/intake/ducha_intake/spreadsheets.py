"""Reading the office's and teams' spreadsheets (.xlsx or .csv) into rows keyed by field name.

Headers are matched in Chinese (as the office writes them) or by the API's field names. Row
numbers are those a person sees in the sheet: the header is row 1, the first data row is row 2."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ducha.kernel.errors import InvalidCommand

MAX_ROWS = 5000
XLSX_MAGIC = b"PK\x03\x04"

YES = {"是", "可", "可以", "公开", "y", "yes", "true", "1"}
NO = {"否", "不", "不可", "不公开", "n", "no", "false", "0"}


def read_table(data: bytes, filename: str = "") -> list[tuple[int, dict[str, Any]]]:
    """Rows of the first sheet as (row number, {header: value}); fully empty rows are skipped."""
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        raw = _xlsx_rows(data)
    elif filename.lower().endswith((".csv", ".txt")) or not filename:
        raw = _csv_rows(data)
    else:
        raise InvalidCommand("upload a .xlsx or .csv file (请上传 .xlsx 或 .csv 文件)", field="file")
    if not raw:
        raise InvalidCommand("the sheet is empty (表格为空)", field="file")
    headers = [str(h).strip() if h is not None else "" for h in raw[0]]
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        cells = {h: _clean(v) for h, v in zip(headers, values, strict=False) if h}
        if any(v is not None for v in cells.values()):
            rows.append((number, cells))
    if len(rows) > MAX_ROWS:
        raise InvalidCommand(f"at most {MAX_ROWS} rows per upload (每次最多{MAX_ROWS}行)", field="file")
    return rows


def _xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the client's file
        raise InvalidCommand(f"not a readable .xlsx file (无法读取Excel文件): {exc}", field="file") from None
    try:
        # read-only workbooks parse lazily: a malformed sheet (bad XML, an undefined entity) only
        # fails here, and it is as much the client's file as an unreadable zip
        sheet = book.worksheets[0]
        return [tuple(r) for r in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # noqa: BLE001 - see above
        raise InvalidCommand(f"the .xlsx file is malformed (Excel文件内容损坏): {exc}", field="file") from None
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[tuple[Any, ...]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InvalidCommand("the CSV is neither UTF-8 nor GBK (编码无法识别)", field="file")
    return [tuple(r) for r in csv.reader(io.StringIO(text))]


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def map_row(cells: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """{field: value} from {header: value}, by the column table {header or field: field}."""
    out: dict[str, Any] = {}
    for header, value in cells.items():
        field = columns.get(header) or columns.get(header.lower())
        if field is not None and value is not None:
            out[field] = value
    return out


def missing_headers(rows_headers: set[str], columns: Mapping[str, str], required: Mapping[str, str]) -> list[str]:
    """The Chinese headers of required fields that no column of the sheet provides."""
    present = {columns.get(h) or columns.get(h.lower()) for h in rows_headers}
    return [label for field, label in required.items() if field not in present]


def choice(value: Any, table: Mapping[str, str]) -> Any:
    """A Chinese label (or the value itself) to its code, e.g. 暗访 -> unannounced."""
    if isinstance(value, str):
        return table.get(value, table.get(value.lower(), value))
    return value


def yes_no(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    return value


def as_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
    return value


def as_text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
