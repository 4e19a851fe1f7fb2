"""The standalone verifier auditors download: one Python file, standard library only, built from
the very modules `ducha audit verify --file` uses (`chain`, `verify`, `offline`) plus a main that
reports in Chinese what was checked and what was not.

    python -m ducha.audit.standalone > ducha_verify.py      # or download it from the workbench
    python3 ducha_verify.py unit-U1.jsonl [--expect-hash H] [--json]

Exit status: 0 no tampering found, 1 tampering found (or the expected hash not found), 2 the file
cannot be read.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MODULES = ("chain.py", "verify.py", "offline.py")
_RELATIVE_IMPORT = re.compile(r"^from \.\w* import [^\n]*\n", re.MULTILINE)
_FUTURE = "from __future__ import annotations\n"

PREAMBLE = '''#!/usr/bin/env python3
"""督查系统审计导出文件核查工具 ducha_verify.py (Ducha audit export verifier).

只需 Python 3.11 或更高版本,不需要联网,不需要安装任何软件包。用法:

    python3 ducha_verify.py 导出文件.jsonl
    python3 ducha_verify.py 导出文件.jsonl --expect-hash 通报上印的检查点哈希
    python3 ducha_verify.py 导出文件.jsonl --json

退出码:0 未发现篡改;1 发现篡改(或未找到要求核对的哈希);2 文件无法读取。
Generated from ducha.audit (chain, verify, offline); the same code as `ducha audit verify --file`.
"""
'''

MAIN = '''

# ---------------------------------------------------------------------------- main (中文报告)
import sys

WHAT_ZH = {"unit": "单位", "round": "轮次"}


def _describe(header: dict[str, Any]) -> str:
    what = header.get("what") or {}
    return "、".join(f"{WHAT_ZH.get(k, k)} {v}" for k, v in what.items()) or "-"


def report_zh(path: Path, header: dict[str, Any], report: VerifyReport, expect: str | None) -> list[str]:
    legacy = header.get("format") == LEGACY_EXPORT_FORMAT
    out = [
        "督查系统审计导出文件核查报告",
        f"文件: {path.name}",
        f"导出内容: {_describe(header)};导出时间 {header.get('created_at', '-')}",
        f"事件: 共 {report.events} 条(序号 {report.first_sequence}..{report.last_sequence}),其中完整事件 "
        f"{header.get('events_included', '-')} 条,其他事件仅有{'哈希' if legacy else '承诺值'} "
        f"{header.get('events_excluded', '-')} 条",
        f"检查点: {report.checkpoints_matched}/{report.checkpoints} 个一致",
        f"最终滚动哈希: {report.chain_hash}",
    ]
    if report.verified_up_to:
        out.append(f"已由检查点覆盖并核实的范围: 序号 {report.first_sequence}..{report.verified_up_to}")
    if report.tail:
        out.append(f"未被检查点覆盖的尾部: 序号 {report.tail[0]}..{report.tail[1]}(只核对了哈希链)")
    out += [
        "",
        "本工具核查了:",
        "  1. 文件中每条完整事件的内容与它的" + ("哈希" if legacy else "承诺值(以办公室密钥加盐的 HMAC)") + "相符;",
        "  2. 序号从 1 起连续,没有缺号、重号或顺序颠倒;",
        "  3. 全部事件(包括其他单位事件的" + ("哈希" if legacy else "承诺值") + ")依次计算的滚动哈希与文件所附每个检查点一致,"
        "检查点首尾相接;",
        "  4. 文件中完整事件所属对象(问题、轮次等)的哈希链连续(prev_hash 与版本号);",
        "  5. 文件头记录的事件数和最终哈希与文件内容一致。",
        "本工具没有核查:",
        "  - 其他单位事件的内容:文件中只有承诺值,没有办公室密钥无法还原或猜测,也无法逐条核实其归属;",
        "  - 文件所附检查点是否就是系统中记录的检查点:请把上面的最终滚动哈希或某个检查点哈希与通报上印的"
        "“检查点哈希”或审计页面公布的值核对(可用 --expect-hash 自动核对);",
        "  - 导出范围是否完整(是否漏选了本应包含的事件)取决于导出规则,本工具只能确认每个序号都在;",
        "  - 事件内容是否与事实相符:本工具只证明记录在导出后和记录后未被改动、删除、插入或调换。",
        "",
    ]
    if expect is not None:
        hashes = {report.chain_hash} | set(_checkpoint_hashes(path))
        if expect.strip().lower() in hashes:
            out.append(f"核对哈希 {expect}: 与本文件的最终哈希或某个检查点哈希一致")
        else:
            out.append(f"核对哈希 {expect}: 本文件中没有这个哈希,文件与所持通报不符")
    if report.ok:
        out.append("结论: 未发现篡改")
    else:
        out.append(f"结论: 发现 {len(report.problems)} 处问题")
        for p in report.problems:
            where = f"序号 {p.sequence}" if p.sequence is not None else "-"
            out.append(f"  [{p.label}] {where} {p.subject or ''}  ({p.detail})")
    return out


def _checkpoint_hashes(path: Path) -> list[str]:
    return [str(i.get("chain_hash")) for i in read_export(path) if i.get("type") == "checkpoint"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="ducha_verify.py", description="核查督查系统审计导出文件")
    parser.add_argument("file", help="导出文件 (.jsonl)")
    parser.add_argument("--expect-hash", help="通报或审计页面上公布的检查点哈希,核对是否出现在本文件中")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出 (machine-readable)")
    args = parser.parse_args(argv)
    path = Path(args.file)
    try:
        report = verify_file(path)
        header = next(read_export(path))
    except FileNotFoundError:
        print(f"错误: 找不到文件 {path},请检查路径", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"错误: 无法读取 {path}: {exc}", file=sys.stderr)
        return 2
    expected_ok = True
    if args.expect_hash:
        expected_ok = args.expect_hash.strip().lower() in {report.chain_hash, *_checkpoint_hashes(path)}
    if args.json:
        print(json.dumps({**report.to_dict(), "expected_hash_found": expected_ok if args.expect_hash else None},
                         ensure_ascii=False, indent=2))
    else:
        print("\\n".join(report_zh(path, header, report, args.expect_hash)))
    return 0 if report.ok and expected_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
'''


def standalone_source() -> str:
    """The single-file verifier: the modules' code in dependency order, relative imports removed."""
    folder = Path(__file__).parent
    parts = [PREAMBLE, _FUTURE]
    for name in MODULES:
        code = (folder / name).read_text(encoding="utf-8").replace(_FUTURE, "")
        parts.append(f"\n# ---------------------------------------------------------------------------- {name}\n")
        parts.append(_RELATIVE_IMPORT.sub("", code))
    parts.append(MAIN)
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(standalone_source())
