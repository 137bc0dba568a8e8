"""Running the app under uvicorn on a socket the command line already bound.

Binding first lets `ingest serve` say "port in use" in one line and exit 2 instead of logging a
traceback, and lets `--port 0` pick a free port that the "serving on" line then names (the
tests read it: once it is printed, the socket accepts connections).
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from sqlalchemy import Engine

from ingest.config import Source
from ingest.web.app import create_app


def serve(engine: Engine, sources: list[Source], sock: socket.socket) -> None:
    # asyncio sets TCP_NODELAY only on sockets it made with proto=IPPROTO_TCP; a socket from
    # socket.create_server has proto 0, so without this every keep-alive response after the
    # first waited ~40 ms for a delayed ACK (Nagle). Accepted connections inherit the option.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving on http://{shown}:{port}/", file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(engine, sources), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
