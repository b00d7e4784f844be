"""``vigia check``: every way a dataset file can be unusable is reported, and the exit code says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigia.cli import main
from vigia.paths import DEFAULT_DATASETS_DIR

NETWORK_FILE = (
    'name: {name}\nkind: network_conn\nsource: {{type: zeek_files, path: "{path}"}}\nsql_models: {models}\n'
    'partitions: {{start: "2026-01-01", end: "2026-01-03"}}\ndetectors: [{{name: i, type: isolation_forest}}]\n'
)


def test_the_shipped_datasets_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEFAULT_DATASETS_DIR)]) == 0
    out = capsys.readouterr().out
    assert "ok   " in out and "network (network_conn, source synthetic_zeek)" in out
    assert "12 assets: raw_conn, stg_conn" in out and out.rstrip().endswith("0 problem(s)")


def test_each_problem_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "good.yaml").write_text(NETWORK_FILE.format(name="good", path=logs, models="network"))
    (tmp_path / "twin.yaml").write_text(NETWORK_FILE.format(name="good", path=logs, models="network"))
    (tmp_path / "later.yaml").write_text(NETWORK_FILE.format(name="later", path=tmp_path / "nope", models="network"))
    (tmp_path / "nosql.yaml").write_text(NETWORK_FILE.format(name="nosql", path=logs, models="missing_group"))
    (tmp_path / "kind.yaml").write_text("name: k\nkind: sensor_timeseries\nsource: {type: zeek_files, path: x}\n")
    (tmp_path / "broken.yaml").write_text("name: [\n")
    (tmp_path / "ignored.yml").write_text("name: z\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"ok   {tmp_path / 'good.yaml'}" in out
    assert f"ok   {tmp_path / 'later.yaml'}" in out and "nope does not exist (yet)" in out
    assert f"FAIL {tmp_path / 'nosql.yaml'}" in out and "the asset chain cannot be built" in out
    assert f"FAIL {tmp_path / 'kind.yaml'}" in out and "zeek_files" in out
    assert f"FAIL {tmp_path / 'broken.yaml'}\n  invalid YAML" in out
    assert "ignored.yml is not read (only *.yaml files are)" in out
    assert "dataset name 'good' is declared twice" in out
    assert out.rstrip().endswith("6 dataset file(s), 5 problem(s)")


def test_a_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "absent.yaml")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_detector_params_the_estimator_would_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown or out-of-range params used to pass the check and fail the first training run."""
    (tmp_path / "det.yaml").write_text(
        "name: det\nkind: sensor_timeseries\nsource: {type: synthetic_pump}\nsql_models: sensors\n"
        'partitions: {start: "2026-01-05", end: "2026-01-07"}\ndetectors:\n'
        "  - {name: forest, type: isolation_forest, params: {n_estimators: many, max_train_samples: 1000}}\n"
        "  - {name: typo, type: lof, params: {n_neighbour: 5}}\n"
        "  - {name: svm, type: ocsvm, params: {nu: 2}}\n"
        "  - {name: ae, type: lstm_autoencoder, params: {epochs: 0}}\n"
        "  - {name: fine, type: lof, params: {n_neighbors: 5}}\n"
    )
    assert main(["check", str(tmp_path / "det.yaml")]) == 1
    out = capsys.readouterr().out
    assert "detector 'forest' (isolation_forest): The 'n_estimators' parameter of IsolationForest" in out
    assert "detector 'typo' (lof): " in out and "'n_neighbour'" in out
    assert "detector 'svm' (ocsvm): The 'nu' parameter of OneClassSVM must be a float in the range" in out
    assert "detector 'ae' (lstm_autoencoder): epochs must hold integers >= 1, got 0" in out
    assert "detector 'fine'" not in out.split("detectors:")[1].split("\n", 1)[1]


def test_label_windows_file_is_read_as_the_feature_asset_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.json"
    good.write_text("start,end\n2026-01-01T10:00:00,2026-01-01T11:00:00\n")
    bad.write_text('[["2026-01-01 10:00:00", "yesterday"]]')
    for name, path in (("good", good), ("bad", bad), ("later", tmp_path / "later.csv")):
        text = NETWORK_FILE.format(name=name, path=logs, models="network") + f'label_windows: "{path}"\n'
        (tmp_path / f"{name}.yaml").write_text(text)
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"ok   {tmp_path / 'good.yaml'}" in out and f"ok   {tmp_path / 'later.yaml'}" in out
    assert "later.csv does not exist (yet); feature runs fail until it does" in out
    assert f"FAIL {tmp_path / 'bad.yaml'}" in out and "label_windows cannot be read: ValueError: " in out
    assert "not an ISO-8601 time or epoch seconds: 'yesterday'" in out
