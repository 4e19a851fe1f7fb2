"""The ledger as an Excel workbook (整改台账.xlsx), with Chinese headers and coloured lights, for the
offices that still work in spreadsheets. Written row by row (write-only), so 100,000 rows take no more
memory than ten."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, BinaryIO

from ducha.contracts.common import LABELS_ZH
from ducha.kernel.cells import safe_row
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

STATUS_ZH = {
    "awaiting_commitment": "待承诺时限", "rectifying": "整改中", "submitted": "待审核",
    "accepted": "已验收", "written_off": "已销号", "withdrawn": "已撤销", "duplicate": "重复问题",
}
LIGHT_ZH = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", None: "—"}
FILLS = {
    "red": PatternFill("solid", fgColor="F8B4B4"),
    "yellow": PatternFill("solid", fgColor="FCE58A"),
    "green": PatternFill("solid", fgColor="B7E4C7"),
}

HEADERS: tuple[tuple[str, int], ...] = (
    ("督办编号", 14), ("问题标题", 36), ("轮次", 22), ("责任单位", 22), ("督查组", 18), ("严重程度", 10),
    ("责任人", 12), ("整改时限", 12), ("状态", 12), ("红黄绿灯", 10), ("剩余/超期天数", 14),
    ("整改进度", 10), ("提交次数", 10), ("延期次数", 10), ("退回/反弹次数", 14), ("最近退回原因", 40),
)


def remaining_text(row: dict[str, Any]) -> str:
    left = row["days_left"]
    if left is None:
        return "—"
    return f"超期{-left}天" if left < 0 else f"剩余{left}天"


def write_ledger_workbook(rows: Iterable[dict[str, Any]], today: date, out: BinaryIO | str,
                          title: str = "整改台账") -> int:
    """Write the workbook row by row (openpyxl write-only: memory stays bounded whatever the number
    of rows); returns the number of rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for i, (_h, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append([_header(ws, h) for h, _w in HEADERS])
    n = 0
    for row in rows:
        values = safe_row([
            row.get("supervision_no") or row["problem_id"], row["title"], row["round_name"], row["unit_name"],
            row["team_name"], LABELS_ZH.get(row["severity"], row["severity"]), row["responsible_person"] or "",
            row["deadline"].isoformat() if row["deadline"] else "未承诺",
            STATUS_ZH.get(row["status"], row["status"]), LIGHT_ZH.get(row["light"], "—"),
            remaining_text(row), f"{row['progress']}%", row["submission_no"], row["postponements"],
            row["reopen_count"], "；".join(row["last_rejection_reasons"]),
        ])
        fill = FILLS.get(row["light"])
        if fill is not None:
            cell = WriteOnlyCell(ws, value=values[LIGHT_COL])
            cell.fill = fill
            values[LIGHT_COL] = cell
        ws.append(values)
        n += 1
    # The sheet stays a plain table (importable again); when it was taken goes in the properties.
    wb.properties.title = f"{title}（{today.isoformat()}）"
    wb.save(out)
    return n


def _header(ws: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(horizontal="center")
    return cell


LIGHT_COL = [h for h, _w in HEADERS].index("红黄绿灯")
