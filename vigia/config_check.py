"""``vigia check``: validate dataset files before the code location loads them.

Each file is loaded with the same validation as the code location, each detector's params are checked
by the estimator itself (unknown names, refused values: what training would fail on), its asset chain is
built by the caller's ``build`` (the CLI passes the Dagster asset factory, so a missing SQL model group shows up too),
and a file source whose path does not exist yet is reported as a warning (the run would fail on it,
naming the path, but the files may land later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigia.config import DatasetConfig, load_dataset_config

FILE_SOURCES = frozenset({"zeek_files", "sensor_files", "event_files", "tabular_files"})


@dataclass
class FileCheck:
    """The outcome for one dataset file: ``error`` set when it cannot be used."""

    path: Path
    config: DatasetConfig | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable lines: what the file declares, then its error and warnings (indented)."""
        error = "\n".join("  " + line for line in (self.error or "").splitlines())
        if self.config is None:
            return f"FAIL {self.path}\n{error}"
        cfg = self.config
        head = f"{'FAIL' if self.error else 'ok  '} {self.path}: {cfg.name} ({cfg.kind}, source {cfg.source.type})"
        lines = [head]
        if cfg.partitions is not None:
            lines.append(f"  daily partitions {cfg.partitions.start} .. {cfg.partitions.end} (end excluded)")
        if cfg.detectors:
            lines.append("  detectors: " + ", ".join(f"{d.name} ({d.type})" for d in cfg.detectors))
        if self.assets:
            lines.append(f"  {len(self.assets)} assets: " + ", ".join(self.assets))
        lines += [error] if self.error else []
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def dataset_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The files named, and the ``*.yaml`` files directly in the folders named (what the code location
    reads); plus an error for each ``*.yml`` file in those folders, which the code location does not read."""
    found: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*.yaml"))
            errors += [f"{p} is not read (only *.yaml files are): rename it" for p in sorted(path.glob("*.yml"))]
        else:
            found.append(path)
    return found, errors


Build = Callable[[DatasetConfig], list[str]]  # a dataset's asset names


def check_file(path: Path, build: Build | None = None) -> FileCheck:
    """Load, validate and (with ``build``) build one dataset file's asset chain."""
    result = FileCheck(path)
    if not path.is_file():
        result.error = "no such file"
        return result
    try:
        cfg = load_dataset_config(path)
    except ValueError as exc:
        result.error = str(exc).removeprefix(f"{path}: ")
        return result
    result.config = cfg
    problems = _detector_problems(cfg)
    try:
        result.assets = build(cfg) if build is not None else []
    except Exception as exc:  # any failure to build is reported, with its type
        problems.insert(0, f"the asset chain cannot be built: {type(exc).__name__}: {exc}")
    result.error = "\n".join(problems) or None
    if cfg.source.type in FILE_SOURCES and cfg.source.path and not Path(cfg.source.path).exists():
        result.warnings.append(f"source.path {cfg.source.path} does not exist (yet); runs fail until it does")
    if cfg.label_windows and not Path(cfg.label_windows).is_file():
        result.warnings.append(
            f"label_windows {cfg.label_windows} does not exist (yet); feature runs fail until it does"
        )
    elif cfg.label_windows:
        from vigia.pipeline.label_windows import read_label_windows

        try:  # read as the feature asset reads it
            read_label_windows(cfg.label_windows)
        except Exception as exc:  # any failure to read is reported, with its type
            problem = f"label_windows cannot be read: {type(exc).__name__}: {exc}"
            result.error = "\n".join(filter(None, [result.error, problem]))
    return result


def _detector_problems(cfg: DatasetConfig) -> list[str]:
    """Each detector whose params the estimator would refuse at training."""
    from vigia.models.detectors import check_detector

    problems = []
    for detector in cfg.detectors:
        try:
            check_detector(detector)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def check_files(paths: list[Path], build: Build | None = None) -> tuple[list[FileCheck], list[str]]:
    """Every file's check, plus errors across files (duplicate dataset names)."""
    files, errors = dataset_files(paths)
    checks = [check_file(p, build) for p in files]
    by_name: dict[str, list[str]] = {}
    for c in checks:
        if c.config is not None:
            by_name.setdefault(c.config.name, []).append(str(c.path))
    errors += [f"dataset name {n!r} is declared twice: {', '.join(ps)}" for n, ps in by_name.items() if len(ps) > 1]
    if not files:
        errors.append(f"no dataset files (*.yaml) in {', '.join(str(p) for p in paths)}")
    return checks, errors
