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


def test_materialize_skips_an_open_ended_dataset_without_a_complete_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A daily dataset whose first day is today has no partition yet: skipped with a note, the others still run."""
    from datetime import UTC, datetime

    import vigia.cli

    datasets = tmp_path / "datasets"
    datasets.mkdir()
    for name, partitions in [("live", f'{{start: "{datetime.now(UTC).date()}"}}'),
                             ("past", '{start: "2026-01-05", end: "2026-01-07"}')]:  # fmt: skip
        (datasets / f"{name}.yaml").write_text(
            f"name: {name}\nkind: network_conn\nsource: {{type: synthetic_zeek}}\nsql_models: network\n"
            f"partitions: {partitions}\ndetectors: [{{name: i, type: isolation_forest}}]\n"
        )
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(datasets))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    calls: list[list[str]] = []
    monkeypatch.setattr(vigia.cli.subprocess, "call", lambda cmd, env: calls.append(cmd) or 0)  # the Dagster CLI
    assert main(["materialize"]) == 0
    assert "live: no complete daily partition yet; skipped" in capsys.readouterr().out
    ranges = [cmd[cmd.index("--partition-range") + 1] for cmd in calls if "--partition-range" in cmd]
    assert len(calls) == 3 and ranges == ["2026-01-05...2026-01-06"] * 2
    assert all("live/" not in " ".join(cmd) for cmd in calls)
