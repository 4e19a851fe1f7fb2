"""The write-off ledger (销号台账) of a round as an Excel workbook with Chinese headers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ducha.contracts.common import LABELS_ZH
from ducha.kernel.calendar import city_minute
from ducha.kernel.cells import safe_row
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

EFFECTIVENESS_ZH = {"good": "好", "fair": "较好", "poor": "一般"}
REVISIT_ZH = {"held": "未反弹", "rebounded": "反弹", None: "待回访"}

COLUMNS: tuple[tuple[str, int], ...] = (
    ("台账编号", 10), ("问题编号", 36), ("问题标题", 40), ("责任单位", 24), ("督查组", 20), ("问题类别", 16),
    ("严重程度", 10), ("验收时间", 18), ("销号时间", 18), ("整改成效", 10), ("成效评估", 40),
    ("回访到期日", 12), ("回访结果", 10), ("回访日期", 12),
)


def ledger_workbook(round_name: str, rows: Sequence[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "销号台账"
    ws.append([name for name, _w in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for r in rows:
        ws.append(safe_row([
            r["ledger_no"], r["problem_id"], r.get("title") or "", r.get("unit_name") or r["unit_id"],
            r.get("team_name") or r.get("team_id") or "", r.get("category") or "",
            LABELS_ZH.get(r.get("severity") or "", r.get("severity") or ""),
            city_minute(r.get("accepted_at")), city_minute(r.get("written_off_at")),
            EFFECTIVENESS_ZH.get(r.get("effectiveness") or "", ""), r.get("assessment") or "",
            r["revisit_due_on"].isoformat() if r.get("revisit_due_on") else "",
            REVISIT_ZH.get(r.get("revisit_outcome"), r.get("revisit_outcome") or ""),
            r["revisited_on"].isoformat() if r.get("revisited_on") else "",
        ]))
    for i, (_name, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    wb.properties.title = f"{round_name} 销号台账"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
