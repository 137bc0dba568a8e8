"""Child processes die with their parent, even when the parent is killed outright (SIGKILL).

Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``) is the only mechanism that survives a
SIGKILL of the parent: nothing in the parent runs then. Two kinds of children use it:

- the worker's crawl processes (armed between fork and exec, see ``ingest.service.worker``);
- `run-once`'s extraction pool: each extraction process (armed by the pool's initializer). Its
  forkserver instead watches its parent's pid (``ingest.service.forkserver_init``): the signal would fire
  when the *thread* that started it exits, not the process. Before this, ``kill -9`` of `run-once`
  left the forkserver, the resource tracker and the extraction processes behind (~250 MB); the
  tracker exits by itself once the others are gone.

Elsewhere than glibc Linux the call is a no-op and children outlive a killed parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

try:  # loaded at import, not in a forked child: dlopen after fork() may deadlock on another thread's lock
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Have `sig` sent to this process when its parent dies; if `parent` (the pid the caller
    expects) is already gone, send it now: the parent died before the signal was armed."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(sig))
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)


def armed_for(parent: int, sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` (or pool initializer) arming `sig` for a child of `parent`."""

    def arm() -> None:
        die_with_parent(sig, parent)

    return arm


def arm_extraction_process() -> None:
    """The extraction pool's initializer: SIGKILL when the forkserver dies, or now if it already has.

    A `kill -9` landing while an extraction process starts would otherwise orphan it (seen: two of
    two in one trial). The forkserver's pid comes from the module it preloaded, inherited by fork.
    """
    server = sys.modules.get("ingest.service.forkserver_init")
    parent = getattr(server, "SERVER_PID", None)
    die_with_parent(signal.SIGKILL, parent if parent != os.getpid() else None)
