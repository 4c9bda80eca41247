"""The guard that fails any test opening a real (non-loopback) network connection.

Every test gets it through tests/conftest.py; a test that really must reach a model endpoint opts
out with `@pytest.mark.allow_model_requests`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpcore
import pytest

# The openai SDK 3.x sends through httpx2 (httpcore2); httpx (httpcore) carries ASGI and respx tests.
_BACKEND_MODULES: list[ModuleType] = [httpcore]
try:
    import httpcore2
except ImportError:  # openai < 3 brings no httpx2
    pass
else:
    _BACKEND_MODULES.append(httpcore2)

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse(host: str, port: int) -> None:
    if not _is_loopback(host):
        # pytest.fail raises a BaseException: no `except Exception` in the code under test (the
        # turn loop's guided-mode fallback, say) can swallow it and let the test pass.
        pytest.fail(
            f"test tried to open a real network connection to {host}:{port}. Mock it (respx, an "
            "ASGI transport, agent.testing) or mark the test @pytest.mark.allow_model_requests.",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def block_real_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens a TCP connection to a non-loopback host (a real model call, say).

    Patched where sockets are opened (the httpcore network backends), below the layer respx
    replaces, so respx mocks, httpx ASGI transports and `agent.testing` models work untouched
    whatever the fixture order. Opt out with `@pytest.mark.allow_model_requests`.
    """
    if request.node.get_closest_marker("allow_model_requests") is not None:
        yield
        return
    for module in _BACKEND_MODULES:
        async_connect = module.AnyIOBackend.connect_tcp
        sync_connect = module.SyncBackend.connect_tcp

        async def guarded_async(
            self: Any, host: str, port: int, *args: Any, _connect: Any = async_connect, **kwargs: Any
        ) -> Any:
            _refuse(host, port)
            return await _connect(self, host, port, *args, **kwargs)

        def guarded_sync(
            self: Any, host: str, port: int, *args: Any, _connect: Any = sync_connect, **kwargs: Any
        ) -> Any:
            _refuse(host, port)
            return _connect(self, host, port, *args, **kwargs)

        monkeypatch.setattr(module.AnyIOBackend, "connect_tcp", guarded_async)
        monkeypatch.setattr(module.SyncBackend, "connect_tcp", guarded_sync)
    yield
