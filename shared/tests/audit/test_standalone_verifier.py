"""An auditor verifies an export with the standalone verifier alone: one file, run by a bare Python
(no site-packages, no Ducha, no network), reporting in Chinese what it checked and what it did not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ducha.audit import export
from ducha.audit.standalone import standalone_source

from .conftest import History


def run_verifier(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I -S: isolated, without site-packages: only the standard library is importable
    return subprocess.run([sys.executable, "-I", "-S", str(script), *args],
                          check=False, capture_output=True, text=True, timeout=120, cwd=script.parent)


async def test_auditor_verifies_an_export_with_the_standalone_verifier(history: History, tmp_path: Path) -> None:
    out = tmp_path / "unit-U1.jsonl"
    header = await export(history.nc, out, unit_id="U1")
    script = tmp_path / "ducha_verify.py"
    script.write_text(standalone_source(), encoding="utf-8")

    ok = run_verifier(script, out.name)
    assert ok.returncode == 0, ok.stderr
    assert "结论: 未发现篡改" in ok.stdout and "单位 U1" in ok.stdout
    assert f"最终滚动哈希: {header['chain_hash']}" in ok.stdout
    assert "本工具核查了" in ok.stdout and "本工具没有核查" in ok.stdout

    assert run_verifier(script, out.name, "--expect-hash", header["chain_hash"]).returncode == 0
    wrong = run_verifier(script, out.name, "--expect-hash", "0" * 64)
    assert wrong.returncode == 1 and "文件与所持通报不符" in wrong.stdout

    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text(out.read_text(encoding="utf-8").replace("整改到位", "整改完成"), encoding="utf-8")
    bad = run_verifier(script, tampered.name)
    assert bad.returncode == 1
    assert "内容被改动" in bad.stdout and "序号 22" in bad.stdout

    missing = run_verifier(script, "missing.jsonl")
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "找不到文件" in missing.stderr
