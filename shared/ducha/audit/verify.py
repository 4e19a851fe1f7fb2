"""Verification of the log: hash chains per aggregate, checkpoints over the whole log, and an exact
account of what was changed, removed, inserted or reordered.

`Verifier` is fed the log in order (one `add` per event: its sequence, leaf hashes and, when the
content is available, subject and body) and compares it with the checkpoints at `finish()`.
Sources (a live stream, an export file) are in `ducha.audit.sources`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .chain import ZERO_HASH, Checkpoint, RollingHash, sha256_hex

KINDS_ZH = {
    "changed": "内容被改动",
    "removed": "事件被删除",
    "inserted": "事件被插入",
    "reordered": "顺序被调换",
    "checkpoint_mismatch": "检查点不符",
}


@dataclass
class Problem:
    kind: str  # changed | removed | inserted | reordered | checkpoint_mismatch
    sequence: int | None  # position in the log as read (for removed: the original position)
    subject: str | None
    detail: str
    related: int | None = None  # the other sequence involved (e.g. the successor whose link broke)

    @property
    def label(self) -> str:
        return KINDS_ZH.get(self.kind, self.kind)


@dataclass
class VerifyReport:
    source: str
    first_sequence: int = 0
    last_sequence: int = 0
    events: int = 0
    chain_hash: str = ZERO_HASH  # recomputed rolling hash at last_sequence
    checkpoints: int = 0
    checkpoints_matched: int = 0
    verified_up_to: int = 0  # every event in first..verified_up_to is covered by a matching checkpoint
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tail(self) -> tuple[int, int] | None:
        """Events after the verified range: checked by their hash chains only."""
        if self.last_sequence > self.verified_up_to:
            return (self.verified_up_to + 1, self.last_sequence)
        return None

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["tail"] = self.tail
        return out


@dataclass
class _Agg:
    seq: int
    hash: str
    version: int
    subject: str = ""
    missing: dict[int, int] = field(default_factory=dict)  # version -> sequence where the gap showed
    seen: set[int] = field(default_factory=set)


class Verifier:
    def __init__(self, source: str, checkpoints: list[Checkpoint]) -> None:
        self.report = VerifyReport(source=source, checkpoints=len(checkpoints))
        self._checkpoints = sorted(checkpoints, key=lambda c: c.up_to_sequence)
        self._by_up_to = {c.up_to_sequence: c for c in self._checkpoints}
        self._rolling = RollingHash()
        self._seqs: list[int] = []
        self._subjects: list[str | None] = []
        self._aggs: dict[str, _Agg] = {}
        self._chain_problems: list[Problem] = []
        self._related_subjects: dict[int, str | None] = {}
        self._cp_ok = True
        self._prev_seq = 0
        self._check_checkpoint_links()

    # ------------------------------------------------------------- feeding
    def add(self, seq: int, leaf_value: str, subject: str | None = None, body: bytes | None = None) -> None:
        """One event: its leaf (the keyed commitment, `ducha.audit.chain`) and, when the content is
        available, its subject and body (for the aggregate's hash chain)."""
        r = self.report
        if not r.events:
            r.first_sequence = seq
            if seq != 1:
                self._problem("removed", 1, None, f"the log starts at sequence {seq}: 1..{seq - 1} are missing")
        elif seq > self._prev_seq + 1:
            for missing in range(self._prev_seq + 1, min(seq, self._prev_seq + 101)):
                self._problem("removed", missing, None, f"sequence {missing} is missing from the log")
        elif seq <= self._prev_seq:
            self._problem("reordered", seq, subject, f"sequence {seq} comes after {self._prev_seq}")
        self._prev_seq = max(self._prev_seq, seq)
        r.events += 1
        r.last_sequence = seq
        r.chain_hash = self._rolling.add(seq, leaf_value)
        self._seqs.append(seq)
        self._subjects.append(subject)
        cp = self._by_up_to.get(seq)
        if cp is not None:
            if cp.chain_hash == r.chain_hash and self._cp_ok:
                r.checkpoints_matched += 1
                r.verified_up_to = seq
            else:
                if self._cp_ok:
                    self._problem("checkpoint_mismatch", seq, None,
                                  f"checkpoint at sequence {seq} (audit #{cp.audit_sequence}) records "
                                  f"{cp.chain_hash[:16]}…, the log gives {r.chain_hash[:16]}…")
                self._cp_ok = False
        if subject is not None and body is not None:
            self._check_chain(seq, subject, body, sha256_hex(body))

    def _check_chain(self, seq: int, subject: str, body: bytes, body_hash: str) -> None:
        agg_key = subject.rpartition(".")[0]
        try:
            data = json.loads(body)
            version = int(data["aggregate_version"])
            prev_hash = data.get("prev_hash")
        except (ValueError, KeyError, TypeError):
            self._chain("changed", seq, subject, "not a readable event envelope")
            return
        agg = self._aggs.get(agg_key)
        if agg is None:
            agg = self._aggs[agg_key] = _Agg(0, "", 0)
            if version != 1 or prev_hash is not None:
                for v in range(1, version):
                    agg.missing[v] = seq
        elif version == agg.version + 1:
            if prev_hash != agg.hash:
                self._chain("changed", agg.seq, agg.subject,
                            f"the event at sequence {agg.seq} no longer has the hash that its successor "
                            f"at sequence {seq} ({subject}) recorded", related=seq, related_subject=subject)
        elif version > agg.version + 1:
            for v in range(agg.version + 1, version):
                agg.missing[v] = seq
        elif version in agg.seen:
            self._chain("inserted", seq, subject, f"a second event claims version {version} of {agg_key}")
            return
        else:
            agg.missing.pop(version, None)
            agg.seen.add(version)
            self._chain("reordered", seq, subject,
                        f"version {version} of {agg_key} comes after version {agg.version}")
            return
        agg.missing.pop(version, None)
        agg.seen.add(version)
        agg.seq, agg.hash, agg.version, agg.subject = seq, body_hash, version, subject

    # ------------------------------------------------------------- results
    def finish(self) -> VerifyReport:
        r = self.report
        covered = sum(c.events for c in self._checkpoints)
        tail_start = len(self._seqs)
        if self._checkpoints and not self._all_matched():
            tail_start = self._diff(covered)
        elif self._checkpoints:
            tail_start = self._seqs.index(r.verified_up_to) + 1 if r.verified_up_to in self._seqs else 0
        else:
            tail_start = 0
        for agg_key, agg in self._aggs.items():
            for version, seq in agg.missing.items():
                self._chain("removed", seq, agg_key + ".*",
                            f"version {version} of {agg_key} is missing before sequence {seq}")
        first_tail_seq = self._seqs[tail_start] if tail_start < len(self._seqs) else None
        for p in self._chain_problems:
            if first_tail_seq is None or p.sequence is None:
                continue
            if p.sequence >= first_tail_seq:
                self._add(p)
            elif p.related is not None and p.related >= first_tail_seq:
                # the predecessor is covered by a matching checkpoint: the successor's link was changed
                self._add(Problem(p.kind, p.related, self._related_subjects.get(p.related),
                                  f"hash chain: the event at sequence {p.related} records a wrong prev_hash"))
        for c in self._checkpoints:
            if c.up_to_sequence > r.last_sequence:
                self._problem("checkpoint_mismatch", c.up_to_sequence, None,
                              f"checkpoint at sequence {c.up_to_sequence} is beyond the end of the log "
                              f"({r.last_sequence}): events were removed")
                break
        r.problems.sort(key=lambda p: (p.sequence or 0, p.kind))
        return r

    def _all_matched(self) -> bool:
        return self._cp_ok and self.report.checkpoints_matched == len(self._checkpoints)

    def _diff(self, covered: int) -> int:
        """Align the checkpoints' digests with the log's; returns the index where the unverified tail
        starts. Moved events become `reordered`, unmatched pairs `changed`, the rest removed/inserted."""
        expected: list[str] = [d for c in self._checkpoints for d in c.digest_list()]
        if len(expected) != covered:
            self._problem("checkpoint_mismatch", None, None, "a checkpoint's digests do not match its count")
        actual = self._rolling.digests
        ops = difflib.SequenceMatcher(None, expected, actual, autojunk=False).get_opcodes()
        tail_start = len(actual)
        if ops and ops[-1][0] == "insert" and ops[-1][1] == len(expected):
            tail_start = ops[-1][3]
            ops = ops[:-1]
        gone: dict[str, int] = {}
        new: dict[str, int] = {}
        pairs: list[tuple[int, int]] = []
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                continue
            n = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            pairs.extend((i1 + k, j1 + k) for k in range(n))
            gone.update({expected[i]: i for i in range(i1 + n, i2)})
            new.update({actual[j]: j for j in range(j1 + n, j2)})
        for i, j in pairs:
            if expected[i] in new or actual[j] in gone:
                gone.setdefault(expected[i], i)
                new.setdefault(actual[j], j)
            else:
                self._problem("changed", self._seqs[j], self._subjects[j],
                              f"the event at sequence {self._seqs[j]} differs from the one checkpointed there")
        for d, j in new.items():
            if d in gone:
                self._problem("reordered", self._seqs[j], self._subjects[j],
                              f"the event checkpointed at position {gone[d] + 1} is now at sequence {self._seqs[j]}")
            else:
                self._problem("inserted", self._seqs[j], self._subjects[j],
                              f"the event at sequence {self._seqs[j]} was never checkpointed")
        for d, i in gone.items():
            if d not in new:
                self._problem("removed", i + 1, None,
                              f"the event checkpointed at sequence {i + 1} is not in the log")
        return tail_start

    def _check_checkpoint_links(self) -> None:
        previous = ZERO_HASH
        up_to = 0
        for c in self._checkpoints:
            if c.previous_chain_hash != previous or c.up_to_sequence <= up_to:
                self._problem("checkpoint_mismatch", c.up_to_sequence, None,
                              f"checkpoint at sequence {c.up_to_sequence} does not follow the one before it")
            previous, up_to = c.chain_hash, c.up_to_sequence

    def _problem(self, kind: str, seq: int | None, subject: str | None, detail: str) -> None:
        self._add(Problem(kind, seq, subject, detail))

    def _chain(self, kind: str, seq: int | None, subject: str | None, detail: str,
               related: int | None = None, related_subject: str | None = None) -> None:
        self._chain_problems.append(Problem(kind, seq, subject, "hash chain: " + detail, related))
        if related is not None:
            self._related_subjects[related] = related_subject

    def _add(self, p: Problem) -> None:
        if not any(q.kind == p.kind and q.sequence == p.sequence for q in self.report.problems):
            self.report.problems.append(p)
