"""Run the ``hookport`` command line with garbage-collector pause accounting.

Used only by the profiling phase of ``bench/run.py``: ``python bench/gcstats.py serve ...``
behaves like ``hookport serve ...`` and, at exit, prints one line
``GCSTATS {"gen0": {"count": N, "total_ms": T, "max_ms": M}, ...}`` to stderr.
"""

from __future__ import annotations

import atexit
import gc
import json
import sys
import time
from typing import Any

_stats = {g: {"count": 0, "total_ms": 0.0, "max_ms": 0.0} for g in range(3)}
_started = [0.0]


def _callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    ms = (time.perf_counter() - _started[0]) * 1000
    entry = _stats[info["generation"]]
    entry["count"] += 1
    entry["total_ms"] += ms
    entry["max_ms"] = max(entry["max_ms"], ms)


def _report() -> None:
    out = {
        f"gen{g}": {k: round(v, 2) if isinstance(v, float) else v for k, v in s.items()}
        for g, s in _stats.items()
    }
    out["objects_tracked"] = len(gc.get_objects())  # type: ignore[assignment]
    sys.stderr.write("GCSTATS " + json.dumps(out) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    gc.callbacks.append(_callback)
    atexit.register(_report)
    from hookport.cli import main

    sys.argv[0] = "hookport"
    main()
