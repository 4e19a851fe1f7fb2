"""Excel export of the ledger exactly as shown: same filters, same order, same columns.

Written in openpyxl's write-only mode with shared styles: rows go to the sheet's temporary file as
they arrive, page by page from the service, and the finished workbook is saved to a temporary file
that the response streams; memory stays bounded by one page of rows, whatever the number of rows
(100,000 rows: a few MB of file, not of memory)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import IO, Any

from ducha.kernel.cells import safe_cell, safe_row
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from .labels import LIGHT_ZH, SEVERITY_ZH, STATUS_ZH

COLUMNS: list[tuple[str, str, int]] = [
    ("light", "红黄绿灯", 8), ("supervision_no", "督办编号", 14), ("title", "问题", 40), ("unit_name", "被督查单位", 22),
    ("team_name", "督查组", 16), ("round_name", "轮次", 24), ("category", "类别", 14), ("severity", "严重程度", 9),
    ("status", "状态", 10), ("responsible_person", "主体责任人", 12), ("deadline", "整改时限", 12),
    ("days_left", "剩余天数", 9), ("progress", "进度(%)", 8), ("postponements", "延期次数", 8),
    ("reopen_count", "退回/反弹次数", 12), ("ledger_no", "销号号", 8),
]
FILL = {"red": "F8D7DA", "yellow": "FFF3CD", "green": "D4EDDA"}


def _value(key: str, v: Any) -> Any:
    if key == "light":
        return LIGHT_ZH.get(v or "", "")
    if key == "status":
        return STATUS_ZH.get(v or "", v)
    if key == "severity":
        return SEVERITY_ZH.get(v or "", v)
    if key == "deadline" and v:
        return str(v)[:10]
    return v


class LedgerSheet:
    """A ledger workbook being written: `append(rows)` as pages arrive, then `finish()` the file."""

    def __init__(self, title: str, filters_text: str) -> None:
        self.wb = Workbook(write_only=True)
        ws = self.ws = self.wb.create_sheet("问题台账")
        for i, (_k, _h, width) in enumerate(COLUMNS):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        ws.freeze_panes = "A4"
        bold, header_fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F6")
        self.fills = {k: PatternFill("solid", fgColor=v) for k, v in FILL.items()}
        head = WriteOnlyCell(ws, value=title)
        head.font = Font(bold=True, size=14)
        ws.append([head])
        ws.append([safe_cell(filters_text)])
        header = []
        for _k, label, _w in COLUMNS:
            cell = WriteOnlyCell(ws, value=label)
            cell.font, cell.fill, cell.alignment = bold, header_fill, Alignment(horizontal="center")
            header.append(cell)
        ws.append(header)
        self.rows = 0

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        ws = self.ws
        for row in rows:
            # a problem reported before 督办编号 existed keeps its id there
            values: list[Any] = safe_row([
                _value(key, row.get(key) or (row.get("problem_id") if key == "supervision_no" else None))
                for key, _h, _w in COLUMNS])
            fill = self.fills.get(row.get("light") or "")
            if fill is not None:
                cell = WriteOnlyCell(ws, value=values[0])
                cell.fill = fill
                values[0] = cell
            ws.append(values)
            self.rows += 1

    def finish(self, out: IO[bytes]) -> None:
        self.wb.save(out)


def ledger_xlsx(rows: Sequence[dict[str, Any]], title: str, filters_text: str) -> bytes:
    """The whole workbook in memory (small sheets and tests)."""
    sheet = LedgerSheet(title, filters_text)
    sheet.append(rows)
    buf = io.BytesIO()
    sheet.finish(buf)
    return buf.getvalue()


CHUNK = 256 * 1024


async def ledger_xlsx_file(pages: AsyncIterator[list[dict[str, Any]]], title: str,
                           filters_text: str) -> IO[bytes]:
    """Write the pages as they arrive (the writing off the event loop), into a temporary file
    (rewound; deleted when closed)."""
    import asyncio

    sheet = await asyncio.to_thread(LedgerSheet, title, filters_text)
    async for page in pages:
        await asyncio.to_thread(sheet.append, page)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the streaming response
    try:
        await asyncio.to_thread(sheet.finish, out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


def chunks(f: IO[bytes]) -> Iterator[bytes]:
    """The file in chunks, closed (and so deleted) at the end."""
    try:
        while block := f.read(CHUNK):
            yield block
    finally:
        f.close()


RANKING_COLUMNS: list[tuple[str, str, int]] = [
    ("rank", "名次", 6), ("name", "被督查单位", 24), ("fed_back", "交办问题", 9), ("written_off", "已销号", 8),
    ("overdue", "超期", 6), ("rectification_rate", "整改率", 9), ("on_time_rate", "按期整改率", 11),
    ("rebound_rate", "反弹率", 8), ("rebounds", "反弹次数", 9), ("avg_days_to_write_off", "平均销号天数", 13),
]


def ranking_xlsx(rows: Sequence[dict[str, Any]], title: str) -> bytes:
    """The unit ranking as the dashboard shows it: the same order and the same rate text (ducha.figures)."""
    from ducha.figures import percent

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("单位排名")
    for i, (_k, _h, width) in enumerate(RANKING_COLUMNS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    head = WriteOnlyCell(ws, value=title)
    head.font = Font(bold=True, size=14)
    ws.append([head])
    ws.append(["整改率 = 已销号 / 已交办；按期整改率 = 按期提交 / 全部提交；反弹率 = 反弹问题 / 曾销号问题"])
    ws.append([label for _k, label, _w in RANKING_COLUMNS])
    for row in rows:
        ws.append([percent(row.get(k)) if k.endswith("_rate") else (row.get(k) if k != "name" else
                   row.get("name") or row.get("unit_id")) for k, _h, _w in RANKING_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
