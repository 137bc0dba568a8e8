"""Preloaded by the extraction pool's forkserver (``set_forkserver_preload``), and imported by no
other process: importing it makes the forkserver exit when the process that started it is gone.

A watch on the parent's pid, not the parent-death signal: that signal fires when the *thread* that
started the forkserver exits, and a pool first used from a short-lived thread lost its forkserver
that way and hung its run. Extraction processes, forked from the forkserver's main thread, arm the
parent-death signal themselves and inherit `SERVER_PID` (``ingest.service.lifecycle.arm_extraction_process``).
"""

from __future__ import annotations

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


threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
