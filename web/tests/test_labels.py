"""Every Ducha event carries its one Chinese label on its contract class; the workbench shows it."""

from __future__ import annotations

from ducha.contracts import label_zh, registry
from ducha_web.labels import filters


def test_every_event_contract_has_its_own_chinese_label() -> None:
    labels = {name: cls.__dict__.get("label_zh") for name, cls in registry.types().items()}
    assert all(isinstance(v, str) and any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in labels.values()), labels
    assert len(set(labels.values())) == len(labels), "two events share a label"


def test_the_lookup_and_the_page_filter_use_the_contract_label() -> None:
    assert label_zh("RectificationRejected") == "审核验收未通过"  # DOMAIN.md: review and acceptance = 审核验收
    assert label_zh("NoSuchEvent") == "NoSuchEvent"
    assert filters()["event_zh"]("RectificationVerified") == "审核验收通过"
