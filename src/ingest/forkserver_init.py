"""Preloaded by the extraction pool's forkserver (``set_forkserver_preload``), and imported by no
other process: importing it arms the forkserver's parent-death signal, so it dies with the process
that started it. Extraction processes, forked from the forkserver, inherit `SERVER_PID`
(see ``ingest.lifecycle.arm_extraction_process``)."""

from __future__ import annotations

import os

from ingest.lifecycle import die_with_parent

SERVER_PID = os.getpid()
die_with_parent()
