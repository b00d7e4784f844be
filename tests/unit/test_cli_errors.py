"""Bad input to the `vigia` commands is one line on stderr and exit code 2, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigia.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "zeek", "{tmp}/empty"], "vigia bench zeek: error: no conn log files"),
        (["bench", "credit", "{tmp}/absent.csv"], "vigia bench credit: error: credit table not found"),
        (["bench", "credit", "{tmp}/semi.csv"], "not in {tmp}/semi.csv (columns: ['a;b;Y']); is the separator ';'?"),
        (["bench", "skab", "{tmp}/empty"], "vigia bench skab: error: no labelled SKAB file"),
    ],
)
def test_input_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.delenv("VIGIA_DEBUG", raising=False)
    (tmp_path / "empty").mkdir()
    (tmp_path / "semi.csv").write_text("a;b;Y\n1;2;0\n3;4;1\n")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and "Traceback" not in err and err.count("\n") == 1


def test_debug_shows_the_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_DEBUG", "1")
    with pytest.raises(ValueError, match="no conn log files"):
        main(["bench", "zeek", str(tmp_path)])


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_materialize_without_dataset_files_fails_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], folder: str
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / folder))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["materialize"]) == 2
    assert f"no dataset files (*.yaml) in {tmp_path / folder}" in capsys.readouterr().err
