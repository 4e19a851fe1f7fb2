"""The 交办单 / 督办通知书 comes from the problem's events only: the same events give the same
notice (and the same .docx bytes); an amendment shows; none before feedback."""

from __future__ import annotations

from ducha.officedoc import docx_text
from ducha_web.notice import from_events, render_docx, render_html

NAMES = {"unit": "城关区人民政府", "team": "第一督查督导组", "round": "2026年第二轮常态化大督查"}
REPORTED = {"event_type": "IssueReported", "changes": {
    "title": "东关片区道路改造滞后", "description": "完成工程量不足一半。", "category": "重大项目建设",
    "severity": "serious", "location": "东关片区", "found_on": "2026-03-02", "supervision_no": "2026-2-0007"}}
AMENDED = {"event_type": "IssueAmended", "changes": {"title": "东关片区道路改造工程进度滞后", "severity": None}}
FED_BACK = {"event_type": "IssueFedBack", "changes": {
    "responsible_person": "马强", "responsible_person_title": "副区长", "requirements": "立行立改。",
    "commit_deadline_by": "2026-03-05", "max_deadline": "2026-05-31", "fed_back_at": "2026-03-02T17:30:00+00:00"}}


def test_the_notice_is_rendered_from_the_events_alone() -> None:
    assert from_events([REPORTED], "p1", NAMES, "本市常态化大督查领导小组办公室") is None  # not fed back yet
    n = from_events([REPORTED, AMENDED, FED_BACK], "p1", NAMES, "本市常态化大督查领导小组办公室")
    assert n is not None and n.number == "2026-2-0007" and n.title == "东关片区道路改造工程进度滞后"
    assert n.severity == "较重" and n.fed_back_on.isoformat() == "2026-03-03"  # Beijing date of the feedback
    page = render_html(n)
    assert "督办编号：2026-2-0007" in page and "马强 副区长" in page and "2026年5月31日" in page
    first = render_docx(n)
    again = render_docx(from_events([REPORTED, AMENDED, FED_BACK], "p1", NAMES, "本市常态化大督查领导小组办公室"))  # type: ignore[arg-type]
    assert first == again  # reproducible: same events, same bytes
    text = docx_text(first)
    assert text[0] == "督办通知书" and "督办编号：2026-2-0007" in text and "本市常态化大督查领导小组办公室" in text
