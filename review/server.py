"""Serving the review app: in one process, or in several on one port.

With several workers, each listens on a socket of its own, all bound to the same port with
SO_REUSEPORT, so the kernel spreads new connections evenly over them. uvicorn's own
``--workers`` share one socket, and each new connection goes to whichever worker is idle
first: connections a browser keeps open, made while the app was idle, all land on the same
worker (19 of 20 in the review benchmark), which then does nearly all the work while the
others wait.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from multiprocessing.connection import wait

import uvicorn

LOG_LEVEL = "warning"


class CannotServe(RuntimeError):
    """The app cannot listen where it was asked to (the message says why)."""


def serve(host: str, port: int, workers: int = 1) -> None:
    """Serve the review app on ``host``:``port`` until interrupted. Each worker opens the
    configured store itself."""
    sockets = [_listening(host, port, shared=workers > 1) for _ in range(workers)]
    if workers == 1:
        _run(sockets[0])
        return
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(target=_run, args=(sock,), name=f"review-worker-{n}")
        for n, sock in enumerate(sockets, start=1)
    ]
    for process in processes:
        process.start()
    for sock in sockets:
        sock.close()  # the workers hold their own copies
    signal.signal(signal.SIGTERM, _interrupted)  # e.g. `kill`: the workers stop too
    try:
        wait([process.sentinel for process in processes])  # one ended: stop them all
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(30)
    failed = [p.name for p in processes if p.exitcode not in (0, -15)]
    if failed:
        raise CannotServe(f"{', '.join(failed)} stopped unexpectedly (see above)")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _listening(host: str, port: int, *, shared: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise CannotServe("several workers need SO_REUSEPORT (Linux, BSD, macOS)")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise CannotServe(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run(sock: socket.socket) -> None:
    config = uvicorn.Config(
        "review.app:create_app", factory=True, log_level=LOG_LEVEL, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])
