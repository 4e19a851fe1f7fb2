"""Export of a round / a unit: a self-contained JSON-lines file that verifies offline; a modified
file is rejected."""

from __future__ import annotations

import json
from pathlib import Path

from ducha.audit import export, verify_file

from .conftest import History


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def subjects(path: Path) -> set[str]:
    return {json.loads(x)["subject"] for x in lines(path) if '"type":"event"' in x}


async def test_round_export_verifies_offline_and_holds_only_the_round(history: History, tmp_path: Path) -> None:
    out = tmp_path / "round-R1.jsonl"
    header = await export(history.nc, out, round_id="R1")
    assert header["last_sequence"] == 26 and header["checkpoints"] >= 1
    got = subjects(out)
    assert "ducha.ev.intake._.round.R1.RoundOpened" in got
    assert "ducha.ev.intake._.team.T1.TeamFormed" in got
    assert "ducha.ev.verification._.ledger.R1.LedgerEntryRecorded" in got
    assert "ducha.ev.rectification.U1.problem.P1.RectificationSubmitted" in got  # every context of P1
    assert "ducha.ev.rectification.U2.problem.P2.DeadlineSet" in got
    assert not any(".R2." in s or ".P5." in s or ".P6." in s for s in got)
    assert header["events_included"] == sum('"type":"event"' in x for x in lines(out)) and header["events_included"] + header["events_excluded"] == 26
    report = verify_file(out)
    assert report.ok, report.problems
    assert report.verified_up_to == 26 and report.chain_hash == header["chain_hash"]
    text = out.read_text(encoding="utf-8")
    assert "问题5" not in text and "P5" not in text  # another round's problem: hashes only


async def test_unit_export_and_tampered_files_are_rejected(history: History, tmp_path: Path) -> None:
    out = tmp_path / "unit-U2.jsonl"
    await export(history.nc, out, unit_id="U2")
    got = subjects(out)
    assert got and all(s.split(".")[3] == "U2" for s in got)
    assert verify_file(out).ok
    original = lines(out)
    event_rows = [i for i, x in enumerate(original) if '"type":"event"' in x]

    changed = list(original)
    i = event_rows[1]
    changed[i] = changed[i].replace("问题", "间题", 1)
    assert changed[i] != original[i]
    (tmp_path / "changed.jsonl").write_text("\n".join(changed) + "\n", encoding="utf-8")
    report = verify_file(tmp_path / "changed.jsonl")
    assert not report.ok and "changed" in report.kinds()
    assert json.loads(original[i])["seq"] in {p.sequence for p in report.problems if p.kind == "changed"}

    removed = original[:5] + original[6:]
    (tmp_path / "removed.jsonl").write_text("\n".join(removed) + "\n", encoding="utf-8")
    report = verify_file(tmp_path / "removed.jsonl")
    assert not report.ok and "removed" in report.kinds()
    assert json.loads(original[5])["seq"] in {p.sequence for p in report.problems if p.kind == "removed"}

    reordered = list(original)
    reordered[3], reordered[4] = reordered[4], reordered[3]
    (tmp_path / "reordered.jsonl").write_text("\n".join(reordered) + "\n", encoding="utf-8")
    report = verify_file(tmp_path / "reordered.jsonl")
    assert not report.ok and "reordered" in report.kinds()


async def test_other_units_events_cannot_be_recovered_by_guessing_their_content(history: History, tmp_path: Path) -> None:
    """Issue 12: exports showed other units' events as sha256 of guessable subjects and bodies.
    Even a guesser who knows every excluded event exactly (subject and body) can confirm nothing:
    no hash of the content, old-style leaf or digest occurs in the file, and without the office's
    key the commitment cannot be recomputed."""
    from ducha.audit.chain import AuditKey, commitment, digest, leaf, legacy_leaf
    from ducha.audit.testkit import read_events

    out = tmp_path / "unit-U2.jsonl"
    await export(history.nc, out, unit_id="U2")
    text = out.read_text(encoding="utf-8")
    rows = [json.loads(x) for x in lines(out)]
    committed = {r["seq"]: r["leaf"] for r in rows if r["type"] == "commitment"}
    log = await read_events(history.nc)
    others = [(seq, s, b) for seq, (s, b) in enumerate(log, start=1) if s.split(".")[3] != "U2"]
    assert others and {seq for seq, _, _ in others} == set(committed)
    wrong_key = AuditKey(b"\x01" * 32)
    for seq, subject, body in others:
        sh, bh = leaf(subject, body)
        for guess in (sh, bh, digest(legacy_leaf(sh, bh)), sha_of(legacy_leaf(sh, bh))):
            assert guess not in text, f"sequence {seq} recoverable from its content"
        assert wrong_key.leaf(subject, body)[1] != committed[seq]
        assert commitment("00" * 32, sh, bh) != committed[seq]
    assert verify_file(out).ok


def sha_of(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
