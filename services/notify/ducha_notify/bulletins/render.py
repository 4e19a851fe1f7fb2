"""Rendering a published bulletin, only from its BulletinPublished payload: an HTML page and a
.docx in the usual official layout (red header 督查通报, 第N期, issuer and date over a red rule,
title, body sections). The .docx is byte-for-byte reproducible: fixed document properties and
fixed zip timestamps."""

from __future__ import annotations

import html
import io
from datetime import datetime, time

from ducha.contracts.notify import BulletinContent, BulletinPublished, RankingRow
from ducha.officedoc import docx_text, normalized_zip, red_rule, run_font

RED = "C00000"
__all__ = ["checkpoint_line", "docx_text", "ranking_cells", "ranking_header", "render_docx", "render_html"]


def ranking_header(c: BulletinContent) -> tuple[str, ...]:
    if any(r.on_time_text for r in c.ranking):  # v2: the figures of ducha.figures
        return ("排名", "单位", "交办问题", "已整改销号", "逾期", "整改率", "按期整改率", "反弹")
    return ("排名", "单位", "问题数", "已整改", "逾期", "完成率")  # v1 bulletins look as published


def ranking_cells(c: BulletinContent, r: RankingRow) -> tuple[str, ...]:
    cells: tuple[str, ...] = (str(r.rank), r.unit_name, str(r.problems), str(r.rectified), str(r.overdue),
             r.rate_text or f"{r.rate_percent}%")
    if len(ranking_header(c)) > len(cells):
        cells += (r.on_time_text, str(r.rebounds))
    return cells


def _zh_date(published: BulletinPublished) -> str:
    d = published.issued_on
    return f"{d.year}年{d.month}月{d.day}日"


def render_html(published: BulletinPublished) -> str:
    c, e = published.content, html.escape
    out = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>{e(c.title)}</title>",
        ("<style>body{font-family:'FangSong','仿宋',serif;max-width:800px;margin:auto}"
        ".red{color:#C00000;text-align:center;font-size:40px;font-weight:bold;letter-spacing:8px}"
        ".no{text-align:center}.meta{display:flex;justify-content:space-between;border-bottom:3px solid #C00000}"
        "h1{text-align:center;font-size:24px}table{border-collapse:collapse;width:100%}td,th{border:1px solid #333;padding:4px}"
        "</style></head><body>"),
        "<div class=\"red\">督查通报</div>",
        f"<div class=\"no\">第{published.number}期</div>",
        f"<div class=\"meta\"><span>{e(c.issuer)}</span><span>{_zh_date(published)}</span></div>",
        f"<h1>{e(c.title)}</h1>",
    ]
    if c.intro:
        out.append(f"<p>{e(c.intro)}</p>")
    for section in c.sections:
        out.append(f"<h2>{e(section.heading)}</h2>")
        out.extend(f"<p>{e(p)}</p>" for p in section.paragraphs)
        if section.heading.startswith("二") and c.ranking:
            out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in ranking_header(c)) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{e(v)}</td>" for v in ranking_cells(c, r)) + "</tr>" for r in c.ranking)
            out.append("</table>")
    if published.checkpoint is not None:
        out.append(f"<p class=\"audit\" style=\"font-size:12px;word-break:break-all\">{e(checkpoint_line(published))}</p>")
    out.append("</body></html>")
    return "\n".join(out)


def checkpoint_line(published: BulletinPublished) -> str:
    """The audit checkpoint printed at the foot of a bulletin (docs/audit.md)."""
    cp = published.checkpoint
    if cp is None:
        return ""
    return f"审计检查点：截至第{cp.up_to_sequence}条记录，检查点哈希 {cp.chain_hash}"


def render_docx(published: BulletinPublished) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    c = published.content
    doc = Document()
    moment = datetime.combine(published.issued_on, time(0, 0))
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = c.title, c.issuer, c.issuer
    props.created = props.modified = moment
    props.revision = 1
    props.comments = f"第{published.number}期"

    def para(text: str, size: float, *, bold: bool = False, color: str | None = None, center: bool = False,
             font: str = "仿宋", indent: bool = False) -> object:
        p = doc.add_paragraph()
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        run_font(p.add_run(text), size, bold, color, font)
        return p

    para("督查通报", 42, bold=True, color=RED, center=True, font="方正小标宋简体")
    para(f"第{published.number}期", 16, center=True)
    meta = para(f"{c.issuer}\t\t\t{_zh_date(published)}", 14)
    red_rule(meta)
    para(c.title, 22, bold=True, center=True, font="方正小标宋简体")
    if c.intro:
        para(c.intro, 16, indent=True)
    for section in c.sections:
        para(section.heading, 16, font="黑体")
        for text in section.paragraphs:
            para(text, 16, indent=True)
        if section.heading.startswith("二") and c.ranking:
            header = ranking_header(c)
            table = doc.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, header, strict=True):
                cell.text = text
            for r in c.ranking:
                cells = table.add_row().cells
                for cell, text in zip(cells, ranking_cells(c, r), strict=True):
                    cell.text = text
    if published.checkpoint is not None:
        para(checkpoint_line(published), 9)
    buf = io.BytesIO()
    doc.save(buf)
    return normalized_zip(buf.getvalue())
