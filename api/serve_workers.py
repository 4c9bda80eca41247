"""`chatpay serve --workers N`: N merchant processes on one port, each with a socket of its own.

This module only houses the worker processes and the small supervisor that keeps them running.

Why not uvicorn's own `workers=N`: it binds one listening socket in the parent and every worker
accepts from it, so whichever process wakes first takes the connection. Clients keep their
connections open (browsers, the load generator's pool), so the first burst of connections decides
the split for good: under load one worker ran at 87 % of a core and the other at 13 %. Here every
worker binds its own socket with SO_REUSEPORT, and the kernel spreads new connections across them
by hashing the connection, evenly whatever the processes are doing.

The supervisor restarts a worker that dies, and stops them all on SIGINT/SIGTERM. A worker stops
by itself when the supervisor is gone (killed with SIGKILL, say), so no orphan keeps serving old
code on the port that a restarted server shares with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger("chatpay.serve")

#: The pending-connection queue of each worker's socket (as uvicorn's default backlog).
BACKLOG = 2048
#: How often a worker checks that its supervisor is still there, and the supervisor its workers.
WATCH_INTERVAL_S = 0.5
#: Time a worker is given to finish its requests when the server stops.
STOP_TIMEOUT_S = 10.0
#: A worker that exits sooner than this after starting did not start; this many in a row and the
#: server gives up instead of restarting them forever.
QUICK_DEATH_S = 5.0
QUICK_DEATHS_TO_GIVE_UP = 3


def spreads_connections() -> bool:
    """Whether this platform has SO_REUSEPORT (Linux balances connections across such sockets)."""
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port beside the other workers' (SO_REUSEPORT), listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def _worker(host: str, port: int, level: str, supervisor: int) -> None:
    """One merchant process: the app from its factory, served on a socket of its own."""
    import uvicorn

    sock = listening_socket(host, port)
    server = uvicorn.Server(uvicorn.Config("api.app:create_app", factory=True, log_level=level))

    def watch_supervisor() -> None:
        while os.getppid() == supervisor:
            time.sleep(WATCH_INTERVAL_S)
        server.should_exit = True  # the supervisor is gone: stop as on SIGTERM

    threading.Thread(target=watch_supervisor, name="supervisor-watch", daemon=True).start()
    server.run(sockets=[sock])


class WorkersFailed(RuntimeError):
    """The workers keep dying right after they start (a broken setting, say): the server stops."""


def ensure_port_free(host: str, port: int) -> None:
    """OSError (address in use) when anything listens on host:port already.

    Sockets with SO_REUSEPORT would silently share the port with another server that set it too
    (a second chatpay, say); a plain bind first refuses as any server would.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(host: str, port: int, workers: int, level: str) -> None:
    """Run `workers` merchant processes until SIGINT or SIGTERM, restarting any that dies."""
    ensure_port_free(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    started_at: dict[int, float] = {}
    quick_deaths = 0

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port, level, os.getpid()),
                                  name="chatpay-worker")
        process.start()
        started_at[id(process)] = time.monotonic()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping.wait(WATCH_INTERVAL_S):
            for index, process in enumerate(processes):
                if process.is_alive():
                    continue
                lived = time.monotonic() - started_at.pop(id(process), 0.0)
                quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_S else 0
                if quick_deaths >= QUICK_DEATHS_TO_GIVE_UP:
                    raise WorkersFailed(f"workers exit right after starting (last exit code "
                                        f"{process.exitcode}); see the log above")
                log.warning("worker %s exited with %s; starting another", process.pid,
                            process.exitcode)
                processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes its requests first
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
