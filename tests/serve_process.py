"""`chatpay serve` as a subprocess on free loopback ports: what the browser and worker tests run.

A thin pytest wrapper over `evals.load.server.served` (the recipe `make stress` uses): the server
gets its own SQLite file unless a database is named, the demo catalogue and the embedded offline
model, and only our settings (a developer's CHATPAY_* or OPENAI_* variables never leak into it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evals.load.server import ServerFailed, served


@dataclass(frozen=True)
class Server:
    url: str  # the merchant origin: chat page and API
    gateway_url: str  # the sandbox gateway's origin: card frame, 3-D Secure page
    pid: int  # the `chatpay serve` process


@contextlib.contextmanager
def chatpay_serve(workdir: Path, *, workers: int = 1, database_url: str | None = None,
                  extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`chatpay serve` migrated, with the demo catalogue loaded; stopped (SIGTERM) at the end.

    `extra_env` adds settings (an operator key, raised rate limits for a load test, ...).
    """
    try:
        with served(workers=workers, database_url=database_url, workdir=workdir,
                    settings=extra_env or {}) as server:
            yield Server(url=server.url, gateway_url=server.gateway_url, pid=server.pid)
    except ServerFailed as exc:
        pytest.fail(str(exc))
