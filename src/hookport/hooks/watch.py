"""``--hooks-hotreload``: re-read hooks files when they change on disk.

A daemon thread watches the folders of the files (so an editor that saves by renaming a new
file over the old one is seen too) and calls the reload callback once per burst of changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["HotReload"]

log = logging.getLogger("hookport.hooks")


class HotReload:
    """Watches ``files`` and calls ``reload`` after they change; :meth:`stop` ends it."""

    def __init__(self, files: Sequence[str], reload: Callable[[], object]) -> None:
        self.files = {str(Path(f).resolve()) for f in files}
        self.reload = reload
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="hookport-hotreload", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the thread ends at its next wake-up)."""
        self._stop.set()

    def _watch(self) -> None:
        from watchfiles import watch

        folders = sorted({str(Path(f).parent) for f in self.files})
        log.info("watching hooks files for changes: %s", ", ".join(sorted(self.files)))
        for changes in watch(*folders, stop_event=self._stop, debounce=200, recursive=False):
            if any(str(Path(path).resolve()) in self.files for _, path in changes):
                try:
                    self.reload()
                except Exception:  # a reload must never end the watcher
                    log.exception("hooks reload failed")
