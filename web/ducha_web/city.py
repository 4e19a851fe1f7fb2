"""The demo city: districts, departments, enterprises, helper departments, people, teams and the
round that `python -m ducha_web.demo` creates, and the demo accounts offered at sign-in."""

from __future__ import annotations

from dataclasses import dataclass

ROUND_NAME = "2026年第二轮常态化大督查"
PREVIOUS_ROUND_NAME = "2026年第一轮常态化大督查"
FOCUS_AREAS = ["重大项目建设", "固定资产投资", "招商引资", "营商环境优化", "生态环境保护"]
OFFICE_NAME = "市常态化大督查领导小组办公室"

# (id, name, kind, parent)
UNITS: list[tuple[str, str, str, str | None]] = [
    ("D01", "城关区人民政府", "district", None),
    ("D02", "高新区管委会", "district", None),
    ("D03", "经开区管委会", "district", None),
    ("D04", "新城区人民政府", "district", None),
    ("D05", "临河县人民政府", "district", None),
    ("D06", "北山县人民政府", "district", None),
    ("B01", "市发改委", "department", None),
    ("B02", "市住建局", "department", None),
    ("B03", "市自然资源局", "department", None),
    ("B04", "市生态环境局", "department", None),
    ("B05", "市交通运输局", "department", None),
    ("B06", "市商务局", "department", None),
    ("B07", "市工信局", "department", None),
    ("B08", "市投资促进局", "department", None),
    ("E01", "市城投集团", "enterprise", None),
    ("E02", "市交投集团", "enterprise", None),
    ("E03", "高新区建设发展有限公司", "enterprise", "D02"),
    ("E04", "城关区城市更新有限公司", "enterprise", "D01"),
    ("E05", "市水务集团", "enterprise", None),
    ("E06", "经开区产业投资有限公司", "enterprise", "D03"),
]
UNIT_NAMES = {u[0]: u[1] for u in UNITS}

HELPERS: list[tuple[str, str]] = [
    ("H01", "市财政局"),
    ("H02", "市人社局"),
    ("H03", "市市场监管局"),
    ("H04", "市政务服务中心"),
]

# (person id, name, role, org id, title)
PEOPLE: list[tuple[str, str, str, str | None, str]] = [
    ("P0001", "王志强", "office", None, "领导小组办公室主任"),
    ("P0002", "刘芳", "office", None, "领导小组办公室副主任"),
    ("P0003", "陈静", "cadre", None, "干部监督管理部门 干部监督科科长"),
    # team leaders (副厅级组长) and staff (业务骨干)
    ("P0101", "李建国", "team", None, "第一督查督导组组长"),
    ("P0102", "张敏", "team", None, "第一督查督导组成员"),
    ("P0103", "赵磊", "team", None, "第一督查督导组成员"),
    ("P0201", "孙卫东", "team", None, "第二督查督导组组长"),
    ("P0202", "周婷", "team", None, "第二督查督导组成员"),
    ("P0301", "吴国平", "team", None, "第三督查督导组组长"),
    ("P0302", "郑晓", "team", None, "第三督查督导组成员"),
    ("P0401", "冯志远", "team", None, "第四督查督导组组长"),
    ("P0402", "何丽", "team", None, "第四督查督导组成员"),
    # unit contacts
    *[(f"P1{u[0]}", n, "unit", u[0], t) for u, (n, t) in zip(UNITS, [
        ("马强", "城关区副区长"), ("黄海", "高新区管委会副主任"), ("林涛", "经开区管委会副主任"),
        ("高峰", "新城区副区长"), ("罗军", "临河县副县长"), ("梁勇", "北山县副县长"),
        ("宋佳", "市发改委副主任"), ("唐明", "市住建局副局长"), ("韩冰", "市自然资源局副局长"),
        ("曹阳", "市生态环境局副局长"), ("许诺", "市交通运输局副局长"), ("邓华", "市商务局副局长"),
        ("彭飞", "市工信局副局长"), ("曾敏", "市投资促进局副局长"), ("萧山", "市城投集团副总经理"),
        ("田野", "市交投集团副总经理"), ("董宁", "高新建发公司副总经理"), ("袁平", "城关城市更新公司副总经理"),
        ("潘越", "市水务集团副总经理"), ("蒋涛", "经开产投公司副总经理"),
    ], strict=True)],
    # helper department contacts
    ("P2H01", "钱文", "helper", "H01", "市财政局预算处处长"),
    ("P2H02", "杜鹃", "helper", "H02", "市人社局就业处处长"),
    ("P2H03", "范明", "helper", "H03", "市市场监管局登记处处长"),
    ("P2H04", "秦川", "helper", "H04", "市政务服务中心副主任"),
]
PERSON_NAMES = {p[0]: p[1] for p in PEOPLE}

# (team key, name, leader, members, units)
TEAMS: list[tuple[str, str, str, list[str], list[str]]] = [
    ("T1", "第一督查督导组", "P0101", ["P0102", "P0103"], ["D01", "B01", "B02", "E01", "E04"]),
    ("T2", "第二督查督导组", "P0201", ["P0202"], ["D02", "B03", "B04", "E03"]),
    ("T3", "第三督查督导组", "P0301", ["P0302"], ["D03", "D04", "B05", "B06", "E02", "E06"]),
    ("T4", "第四督查督导组", "P0401", ["P0402"], ["D05", "D06", "B07", "B08", "E05"]),
]


@dataclass(frozen=True)
class DemoAccount:
    """A person one may sign in as in the local set-up."""

    id: str
    name: str
    role: str
    title: str = ""
    unit_id: str | None = None
    team_id: str | None = None
    team_leader: bool = False
    org_name: str = ""

    @property
    def key(self) -> str:
        return self.id

    @property
    def label(self) -> str:
        return self.org_name or self.title


ROLE_ZH = {"office": "领导小组办公室", "team": "督查督导组", "unit": "被督查单位",
           "helper": "市直相关单位", "cadre": "干部监督管理部门", "public": "社会公众", "auditor": "审计核查",
           "system": "系统"}
ROLE_ORDER = ["office", "team", "unit", "helper", "cadre", "auditor"]
# 纪检监察 / audit: not in the services' directory of persons; always offered as a demo account
AUDITOR_ACCOUNT = ("auditor-1", "市纪委监委审计核查员", "auditor", "市纪委监委")


def static_accounts() -> list[DemoAccount]:
    """Accounts that need nothing from the services (team accounts need the team ids, which the
    directory gives once teams are formed)."""
    helpers = dict(HELPERS)
    out = []
    for pid, name, role, org, title in PEOPLE:
        if role == "team":
            continue
        org_name = OFFICE_NAME if role == "office" else UNIT_NAMES.get(org or "", helpers.get(org or "", ""))
        if role == "cadre":
            org_name = "干部监督管理部门"
        out.append(DemoAccount(id=pid, name=name, role=role, title=title, unit_id=org, org_name=org_name))
    return out
