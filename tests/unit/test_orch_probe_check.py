"""``vigia check`` builds what the code location builds per dataset: a file that would stop the code location
from loading (here a freshness deadline that is no valid cron) fails the check, naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.staging import dataset_config
from vigia.cli import main

OPEN_ENDED = (
    "name: fr\nkind: network_conn\nsource: {{type: synthetic_zeek}}\nsql_models: network\n"
    'partitions: {{start: "2026-01-05", freshness_deadline: "{cron}"}}\n'
    "detectors: [{{name: i, type: isolation_forest}}]\n"
)


def test_check_fails_a_file_whose_freshness_deadline_stops_the_code_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fr.yaml").write_text(OPEN_ENDED.format(cron="0 25 * * *"))  # five fields, hour 25
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {tmp_path / 'fr.yaml'}" in out and "freshness_deadline" in out
    assert out.rstrip().endswith("1 problem(s)")


def test_the_build_of_check_builds_the_freshness_checks() -> None:
    """The check's build refuses the deadline itself, whatever the config validation lets through."""
    from vigia.cli import _build_dataset

    cfg = dataset_config("fr", partitions={"start": "2026-01-05", "freshness_deadline": "0 3 * * *"})
    assert "alerts" in _build_dataset(cfg)
    assert cfg.partitions is not None
    partitions = cfg.partitions.model_copy(update={"freshness_deadline": "0 25 * * *"})  # validation bypassed
    with pytest.raises(ValueError, match="not a valid cron expression"):
        _build_dataset(cfg.model_copy(update={"partitions": partitions}))

