"""``prune_versions``: the newest versions stay, and the champion's and the candidate's are never deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigia.pipeline.model_store import DELETING_PREFIX, prune_versions

VERSIONS = [f"20260101T0000{i:02d}-run{i}" for i in range(6)]


def _store(tmp_path: Path, champion: str | None = None, candidate: str | None = None) -> Path:
    for version in VERSIONS:
        (tmp_path / "versions" / version).mkdir(parents=True)
        (tmp_path / "versions" / version / "manifest.json").write_text("{}")
    for name, version in (("champion", champion), ("candidate", candidate)):
        if version:
            (tmp_path / f"{name}.json").write_text(json.dumps({"version": version, "sha256": "x"}))
    return tmp_path


def _left(models_dir: Path) -> list[str]:
    return sorted(p.name for p in (models_dir / "versions").iterdir())


def test_keeps_the_newest_and_deletes_the_oldest_first(tmp_path: Path) -> None:
    store = _store(tmp_path, champion=VERSIONS[-1], candidate=VERSIONS[-1])
    assert prune_versions(store, 2) == VERSIONS[:4]
    assert _left(store) == VERSIONS[4:]


def test_an_old_champion_and_candidate_are_never_deleted(tmp_path: Path) -> None:
    store = _store(tmp_path, champion=VERSIONS[0], candidate=VERSIONS[2])
    assert prune_versions(store, 1) == [VERSIONS[1], VERSIONS[3], VERSIONS[4]]
    assert _left(store) == [VERSIONS[0], VERSIONS[2], VERSIONS[5]]


@pytest.mark.parametrize("keep", [None, 6, 50])
def test_nothing_to_delete(tmp_path: Path, keep: int | None) -> None:
    store = _store(tmp_path, champion=VERSIONS[0])
    assert prune_versions(store, keep) == []
    assert _left(store) == VERSIONS


def test_no_store_yet(tmp_path: Path) -> None:
    assert prune_versions(tmp_path / "absent", 1) == []


def test_a_folder_left_by_an_interrupted_prune_is_removed(tmp_path: Path) -> None:
    store = _store(tmp_path, champion=VERSIONS[-1])
    (store / "versions" / f"{DELETING_PREFIX}{VERSIONS[0]}").mkdir()
    (store / "versions" / f"{DELETING_PREFIX}{VERSIONS[0]}" / "model_set.joblib").write_bytes(b"x")
    assert prune_versions(store, 10) == []
    assert _left(store) == VERSIONS


def test_a_champion_pointer_to_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from vigia.pipeline.model_store import load_model_set

    (tmp_path / "champion.json").write_text(json.dumps({"version": "20260101T000000-gone", "sha256": "x"}))
    with pytest.raises(FileNotFoundError, match="points at model version 20260101T000000-gone, whose folder"):
        load_model_set(tmp_path, "champion")
