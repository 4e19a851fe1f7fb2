from pathlib import Path

from ducha.contracts.docgen import render


def test_events_reference_is_generated_from_the_current_contracts() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert doc.read_text(encoding="utf-8") == render(), (
        "docs/events.md is stale: run `python -m ducha.contracts.docgen > docs/events.md`"
    )
