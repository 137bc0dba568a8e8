"""Preloaded by the extraction pool's forkserver (``set_forkserver_preload``), and imported by no
other process: importing it makes the forkserver exit when the process that started it is gone.

A watch on the parent's pid, not the parent-death signal: that signal fires when the *thread* that
started the forkserver exits, and a pool first used from a short-lived thread lost its forkserver
that way and hung its run. Extraction processes, forked from the forkserver's main thread, arm the
parent-death signal themselves and inherit `SERVER_PID` (``ingest.service.lifecycle.arm_extraction_process``).

It also warms the extractor once, here (`_warm`), so that the extraction processes forked from it
start warm: cold, each one spent 0.86 CPU-s importing what a task needs (2.4 s of wall time at
load 10, before its first page) and ~0.4 s more on its first pages (the language model, trafilatura's
lazily built state). The watch starts first: a parent killed during the warm-up is still noticed.
"""

from __future__ import annotations

import logging
import os
import threading
import time

SERVER_PID = os.getpid()
_PARENT = os.getppid()
_POLL_SECONDS = 0.5  # how long a forkserver may outlive a killed run-once


def _watch_parent() -> None:
    while os.getppid() == _PARENT:
        time.sleep(_POLL_SECONDS)
    os._exit(0)  # its extraction processes get their parent-death signal now


def _warm() -> None:
    try:
        from ingest.extract.extractor import preload
        from ingest.service.pipeline import extract_page  # noqa: F401  (what each task names: import it once, here)

        preload()
    except Exception:  # a failed warm-up leaves the extraction processes cold, nothing more
        logging.getLogger(__name__).warning("the extraction processes start cold", exc_info=True)


threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
_warm()
