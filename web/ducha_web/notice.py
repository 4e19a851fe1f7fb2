"""交办单 / 督办通知书: the notice handed to a unit when a problem is fed back — red header, 督办编号,
the problem, the requirements, the responsible person, the deadline rules, the issuing office and date.

Built only from the problem's events (the audit timeline: IssueReported, IssueAmended, IssueFedBack),
never from a read model, so the same notice comes out after any rebuild; rendered as printable HTML
and as a reproducible .docx (`ducha.officedoc`)."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ducha.kernel.calendar import city_time
from ducha.officedoc import RED, normalized_zip, red_rule, run_font

from .labels import SEVERITY_ZH


@dataclass(frozen=True)
class Notice:
    supervision_no: str
    problem_id: str
    title: str
    description: str
    category: str
    severity: str
    location: str
    found_on: str
    unit_name: str
    team_name: str
    round_name: str
    responsible_person: str
    requirements: str
    commit_deadline_by: date
    max_deadline: date
    fed_back_on: date
    issuer: str

    @property
    def number(self) -> str:
        return self.supervision_no or self.problem_id[:12]


def from_events(entries: list[dict[str, Any]], problem_id: str, names: dict[str, str], issuer: str) -> Notice | None:
    """The notice from the problem's audit timeline entries; None before it is fed back."""
    facts: dict[str, Any] = {}
    fed: dict[str, Any] | None = None
    for e in entries:
        changes = e.get("changes") or {}
        if e.get("event_type") == "IssueReported":
            facts.update(changes)
        elif e.get("event_type") == "IssueAmended":
            facts.update({k: v for k, v in changes.items() if v not in (None, "")})
        elif e.get("event_type") == "IssueFedBack":
            fed = {**changes, "reasons": e.get("reasons")}
    if fed is None or not facts:
        return None
    person = " ".join(x for x in (fed.get("responsible_person"), fed.get("responsible_person_title")) if x)
    return Notice(
        supervision_no=str(facts.get("supervision_no") or ""), problem_id=problem_id,
        title=str(facts.get("title", "")), description=str(facts.get("description", "")),
        category=str(facts.get("category", "")), severity=SEVERITY_ZH.get(str(facts.get("severity")), ""),
        location=str(facts.get("location") or ""), found_on=str(facts.get("found_on") or ""),
        unit_name=names.get("unit", ""), team_name=names.get("team", ""), round_name=names.get("round", ""),
        responsible_person=person, requirements=str(fed.get("requirements") or ""),
        commit_deadline_by=date.fromisoformat(str(fed["commit_deadline_by"])),
        max_deadline=date.fromisoformat(str(fed["max_deadline"])),
        fed_back_on=city_time(datetime.fromisoformat(str(fed["fed_back_at"]))).date(), issuer=issuer)


def zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def body(n: Notice) -> list[tuple[str, str]]:
    """(heading, text) of the notice's body, the same in HTML and .docx."""
    found = "，".join(x for x in (n.found_on and f"{n.found_on}发现", n.location, n.category and f"类别：{n.category}",
                                n.severity and f"严重程度：{n.severity}") if x)
    return [
        ("", f"{n.unit_name}："),
        ("", (f"{n.team_name}在{n.round_name}中发现你单位存在以下问题，现交由你单位整改，请高度重视，"
             "坚持问题导向，做到整改完成一个、审核验收一个、入账销号一个。")),
        ("一、问题", f"{n.title}。{n.description}" + (f"（{found}）" if found else "")),
        ("二、整改要求", n.requirements or "立行立改，按期报送整改情况和佐证材料。"),
        ("三、主体责任人", n.responsible_person),
        ("四、时限要求", (f"请于{zh_date(n.commit_deadline_by)}前在督查工作台承诺整改时限，承诺的整改时限不得晚于"
                    f"{zh_date(n.max_deadline)}；整改时限临近亮黄灯、逾期亮红灯并通报，确需延期的须说明理由并经批准。")),
    ]


def render_html(n: Notice) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>督办通知书 {e(n.number)}</title>",
        ("<style>body{font-family:'FangSong','仿宋',serif;max-width:760px;margin:24px auto;line-height:1.9;"
         "font-size:16px}.red{color:#C00000;text-align:center;font-size:36px;font-weight:bold;letter-spacing:6px}"
         ".no{text-align:center;border-bottom:3px solid #C00000;padding-bottom:6px}h2{font-size:16px;margin:14px 0 0}"
         "p{text-indent:2em;margin:4px 0}.sign{text-align:right;margin-top:40px}"
         "@media print{.noprint{display:none}body{margin:0}}</style></head><body>"),
        "<p class=\"noprint\" style=\"text-indent:0\"><button onclick=\"window.print()\">打印</button></p>",
        "<div class=\"red\">督办通知书</div>",
        f"<div class=\"no\" data-testid=\"notice-no\">督办编号：{e(n.number)}</div>",
    ]
    for heading, text in body(n):
        if heading:
            parts.append(f"<h2>{e(heading)}</h2>")
        parts.append(f"<p>{e(text)}</p>")
    parts.append(f"<div class=\"sign\">{e(n.issuer)}<br>{zh_date(n.fed_back_on)}</div></body></html>")
    return "\n".join(parts)


def render_docx(n: Notice) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = f"督办通知书 {n.number}", n.issuer, n.issuer
    props.created = props.modified = datetime(n.fed_back_on.year, n.fed_back_on.month, n.fed_back_on.day)
    props.revision = 1

    def para(text: str, size: float, *, bold: bool = False, color: str | None = None, align: Any = None,
             font: str = "仿宋", indent: bool = False) -> Any:
        p = doc.add_paragraph()
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        run_font(p.add_run(text), size, bold, color, font)
        return p

    para("督办通知书", 36, bold=True, color=RED, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    red_rule(para(f"督办编号：{n.number}", 16, align=WD_ALIGN_PARAGRAPH.CENTER))
    for heading, text in body(n):
        if heading:
            para(heading, 16, font="黑体")
        para(text, 16, indent=bool(heading) or not text.endswith("："))
    para(n.issuer, 16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(zh_date(n.fed_back_on), 16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    buf = io.BytesIO()
    doc.save(buf)
    return normalized_zip(buf.getvalue())
