"""Serve the offline model over HTTP: `python -m agent.offline [--host H] [--port 8400]`.

Any OpenAI-compatible client can then use it with base_url http://HOST:PORT/v1 and any API key.
"""

from __future__ import annotations

import argparse

import uvicorn

from agent.offline.app import DEFAULT_MODEL_NAME, create_offline_app

DEFAULT_PORT = 8400


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agent.offline",
                                     description="Serve chatpay's offline model (Chat Completions).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8400)")
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="name in /v1/models")
    args = parser.parse_args(argv)
    uvicorn.run(create_offline_app(model_name=args.model_name), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
