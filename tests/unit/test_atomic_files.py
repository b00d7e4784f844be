"""``vigia.atomic_files``: a file is replaced whole or left as it was, with the permissions asked for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vigia.atomic_files import atomic_path, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_text_atomic(target, "old")
    with pytest.raises(OSError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError("disk full (test)")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_modes_follow_the_umask_as_open_does(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "plain", "x")
        write_text_atomic(tmp_path / "private", "x", mode=0o600, durable=True)
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "plain").st_mode & 0o777 == 0o640
    assert os.stat(tmp_path / "private").st_mode & 0o777 == 0o600
    assert (tmp_path / "private").read_text() == "x"
