"""The credentials Ducha generates reach the kit as one file per department, never the whole file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from ducha_notify.natsauth import DepartmentUser, credentials_document, write_department_files
from ducha_subscriber import load


def test_each_department_gets_its_own_private_file_and_the_kit_reads_it(tmp_path: Path) -> None:
    depts = [DepartmentUser("unit-U1", "pw1", "U1", "城关区"), DepartmentUser("helper-H1", "pw2", "H1", "市住建局")]
    doc = credentials_document("service-pw", depts)
    paths = write_department_files(doc, tmp_path)
    assert [p.name for p in paths] == ["U1.creds", "H1.creds"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "service-pw" not in path.read_text() and "pw2" not in paths[0].read_text()
    u1 = load(paths[0])
    assert (u1.user, u1.password, u1.department, u1.inbox_prefix) == ("unit-U1", "pw1", "U1", "_INBOX_U1")
    assert u1.consumer() == "dept-U1-1" and u1.subject == "ducha.dept.U1.>" and u1.stream == "DUCHA_DEPT"
    with pytest.raises(ValueError, match="not one of"):
        u1.consumer("dept-H1-1")  # another department's consumer is not this department's to use
    whole = tmp_path / "all.json"
    whole.write_text(json.dumps(doc))
    assert load(whole, "H1").user == "helper-H1"
    with pytest.raises(ValueError, match="name one with --department"):
        load(whole)
