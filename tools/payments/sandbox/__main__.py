"""Serve the sandbox gateway on its own origin: `python -m tools.payments.sandbox`."""

from __future__ import annotations

from urllib.parse import urlsplit

import uvicorn

from tools.payments.sandbox.app import create_app
from tools.payments.sandbox.settings import SandboxSettings


def main() -> None:
    """Run uvicorn on the host and port of `CHATPAY_SANDBOX_PUBLIC_URL`."""
    settings = SandboxSettings()
    url = urlsplit(settings.public_url)
    # Access logs carry only paths and query strings, which never hold card data here.
    uvicorn.run(create_app(settings), host=url.hostname or "127.0.0.1", port=url.port or 8001)


if __name__ == "__main__":
    main()
