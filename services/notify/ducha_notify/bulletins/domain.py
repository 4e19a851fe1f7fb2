"""Bulletins (通报), pure: content computed from the statistics and the bulletin aggregate's rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ducha import figures
from ducha.contracts import DomainEvent
from ducha.contracts.notify import (
    AuditCheckpointRef,
    BulletinContent,
    BulletinDrafted,
    BulletinNumberIssued,
    BulletinPublished,
    BulletinSection,
    GoodPractice,
    NamedUnit,
    PublicProblem,
    RankingRow,
)
from ducha.disclosure import may_publish
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.errors import Conflict, NotFound
from ducha.kernel.subjects import AggregateKey

from ..directory.visibility import row_facts

STATUS_ZH = {"reported": "已发现", "fed_back": "已交办", "rectifying": "整改中", "submitted": "已提交待审核",
             "verified": "已验收", "written_off": "已销号"}
SERIES = AggregateKey("notify", "bulletinseries", "city")


def bulletin_key(bid: str) -> AggregateKey:
    return AggregateKey("notify", "bulletin", bid)


# ------------------------------------------------------------------ content
def compute_content(problems: list[dict[str, Any]], unit_names: dict[str, str], round_id: str, round_name: str,
                    title: str, issuer: str, intro: str, poor_rate: int) -> BulletinContent:
    """The bulletin's content from the round's problems (rows of the directory projection): only
    problems the public may see once published (the disclosure policy: fed back, not withdrawn)
    are counted — by `ducha.figures`, the same definitions as the statistics API and the dashboard —
    and only publishable ones among them are named."""
    rows = [p for p in problems if p["round_id"] == round_id and may_publish(row_facts(p))]
    per_unit: dict[str, list[figures.Facts]] = {}
    for p in rows:
        per_unit.setdefault(p["unit_id"], []).append(figures.Facts.from_json(json.loads(p.get("figures") or "{}")))
    total = figures.summarize(f for facts in per_unit.values() for f in facts)
    ranked = figures.ranking([{"unit_id": u, "name": unit_names.get(u, u), **figures.summarize(facts)}
                              for u, facts in per_unit.items()])
    ranking = tuple(RankingRow(rank=r["rank"], unit_id=r["unit_id"], unit_name=r["name"], problems=r["fed_back"],
                               rectified=r["written_off"], overdue=r["ever_overdue"], rejected=r["rejections"],
                               rate_percent=int((r["rectification_rate"] or 0) * 100),
                               rate_text=figures.percent(r["rectification_rate"]),
                               on_time_text=figures.percent(r["on_time_rate"]), rebounds=r["rebounds"])
                    for r in ranked if r["fed_back"])
    poor = tuple(NamedUnit(unit_id=r.unit_id, unit_name=r.unit_name,
                           reason=f"整改率{r.rate_text}，逾期{r.overdue}项，审核未通过{r.rejected}次")
                 for r in ranking if r.rate_percent < poor_rate)
    practices = tuple(GoodPractice(problem_id=p["id"], unit_id=p["unit_id"], unit_name=unit_names.get(p["unit_id"], p["unit_id"]),
                                   title=p["title"], assessment=p["assessment"] or "")
                      for p in sorted(rows, key=lambda x: x["id"]) if p["publishable"] and p["effectiveness"] == "good")
    public = tuple(PublicProblem(problem_id=p["id"], unit_id=p["unit_id"], unit_name=unit_names.get(p["unit_id"], p["unit_id"]),
                                 title=p["title"], category=p["category"], status=STATUS_ZH.get(p["status"], p["status"]))
                   for p in sorted(rows, key=lambda x: (x["unit_id"], x["id"])) if p["publishable"])
    sections = (
        BulletinSection(heading="一、总体情况", paragraphs=(
            (f"{round_name}共交办问题{total['fed_back']}个，已整改销号"
             f"{total['written_off']}个，整改率{figures.percent(total['rectification_rate'])}，按期整改率"
             f"{figures.percent(total['on_time_rate'])}；{total['ever_overdue']}个问题出现逾期，"
             f"{total['rebounded']}个问题销号后反弹。"),)),
        BulletinSection(heading="二、整改排名", paragraphs=(
            "各被督查单位整改情况排名如下（按整改率，其次按期整改率、反弹次数、逾期问题数）。",)),
        BulletinSection(heading="三、整改不力单位", paragraphs=tuple(f"{u.unit_name}：{u.reason}。" for u in poor) or ("无。",)),
        BulletinSection(heading="四、典型经验", paragraphs=tuple(f"{g.unit_name}：{g.title}——{g.assessment}" for g in practices) or ("无。",)),
        BulletinSection(heading="五、下一步要求", paragraphs=(
            "各单位要坚持问题导向，对照问题清单逐项整改，做到整改完成一个、审核验收一个、入账销号一个，确保真整改、改到位、不反弹。",)),
    )
    return BulletinContent(title=title, issuer=issuer, round_id=round_id, round_name=round_name, intro=intro,
                           sections=sections, ranking=ranking, poor_units=poor, good_practices=practices, problems=public)


# ---------------------------------------------------------------- decisions
@dataclass
class BulletinState(AggregateState):
    content: BulletinContent | None = None  # the draft in force
    published: bool = False

    @applies(BulletinDrafted)
    def _drafted(self, p: BulletinDrafted) -> None:
        self.content = p.content

    @applies(BulletinPublished)
    def _published(self, _p: BulletinPublished) -> None:
        self.published = True


def decide_draft(loaded: LoadedAggregate, content: BulletinContent) -> list[DomainEvent]:
    if BulletinState.of(loaded).published:
        raise Conflict("a published bulletin never changes; draft a new one")
    return [BulletinDrafted(content=content)]


def decide_publish(loaded: dict[AggregateKey, LoadedAggregate], bid: str, issued_on: date,
                   checkpoint: AuditCheckpointRef | None = None) -> dict[AggregateKey, Sequence[DomainEvent]]:
    state = BulletinState.of(loaded[bulletin_key(bid)])
    content = state.content
    if content is None:
        raise NotFound(f"no bulletin draft {bid}")
    if state.published:
        raise Conflict("the bulletin is already published")
    number = loaded[SERIES].version + 1
    event = BulletinPublished(number=number, issued_on=issued_on, content=content, checkpoint=checkpoint)
    return {bulletin_key(bid): [event],
            SERIES: [BulletinNumberIssued(number=number, bulletin_id=bid)]}
