"""Shared ending of the alternating benchmarks: medians per variant, printed and written as JSON."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def finish(runs: Sequence[dict[str, Any]], variant: Callable[[dict[str, Any]], str], path: Path | None,
           **context: Any) -> dict[str, Any]:
    """Median wall seconds per ``variant(run)`` (in first-seen order); printed, and written to ``path`` with
    the runs, the date and ``context``."""
    labels = list(dict.fromkeys(variant(r) for r in runs))
    medians = {label: round(statistics.median(r["seconds"] for r in runs if variant(r) == label), 2)
               for label in labels}
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **context, "runs": list(runs),
              "median_seconds": medians}
    print(json.dumps(medians, indent=1))
    if path:
        path.write_text(json.dumps(result, indent=2) + "\n")
    return result
