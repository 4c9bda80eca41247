"""Memory of one server process after many conversations (benchmark 5).

This module only houses the measurement, meant to run in a process of its own
(`python -m evals.bench.memory`, started by the bench) so that nothing else it imported counts:
a merchant app from `api.app.create_app` on a migrated SQLite file with the demo catalogue and
the offline model, driven in-process through httpx's ASGI transport as a browser would drive it.
Each conversation is opened and gets one shopper message. RSS is read from /proc/self/status
after a warm-up and again at the end; conversations live in the database, so it should not grow
with their number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from agent.model import Message, ModelRequestSettings, ModelResponse, ToolSchema

MESSAGES = ("do you have green tea?", "show my cart", "do you have mugs?", "how much is shipping?")


class InstantModel:
    """Answers every request at once with one line of text, keeping nothing.

    `agent.testing`'s models record each request, which would itself grow the process; the
    offline model would take ~12 minutes for 10,000 conversations on this 2-core machine.
    """

    name = "instant"

    async def request(self, messages: Sequence[Message], tools: Sequence[ToolSchema], *,
                      settings: ModelRequestSettings | None = None) -> ModelResponse:
        return ModelResponse(content="We sell tea, coffee, mugs and more.", finish_reason="stop",
                             model_name=self.name)


def rss_mb(status: Path = Path("/proc/self/status")) -> float | None:
    """This process's resident set (VmRSS) in MB; None where /proc is missing."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def _conversation(client: httpx.AsyncClient, index: int) -> None:
    started = await client.post("/api/conversations", json={"locale": "en"})
    started.raise_for_status()
    body = started.json()
    answer = await client.post(f"/api/conversations/{body['id']}/messages",
                               json={"text": MESSAGES[index % len(MESSAGES)]},
                               headers={"Authorization": f"Bearer {body['token']}"})
    answer.raise_for_status()


async def measure(conversations: int, *, warmup: int = 200,
                  budget_s: float | None = None) -> dict[str, Any]:
    """RSS before and after `conversations` conversations of one message each.

    One at a time: SQLite takes one writer at a time anyway, and waiting writers only add the
    busy handler's sleeps. With `budget_s`, it stops early when the time is up and says so.
    """
    from api.app import create_app
    from api.settings import ServiceSettings
    from tools.catalog.loader import load_catalog, load_demo_entries
    from tools.settings import CommerceSettings
    from tools.store.db import Database
    from tools.store.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="chatpay-bench-memory-") as workdir:
        database = Database(f"sqlite+aiosqlite:///{Path(workdir) / 'memory.db'}")
        await upgrade(database.engine)
        async with database.session() as session:
            await load_catalog(session, load_demo_entries())
            await session.commit()
        # The per-client rate limit would turn 10,000 conversations from one address into 429s.
        app = create_app(database=database, model=InstantModel(), commerce=CommerceSettings(),
                         service=ServiceSettings(rate_limit_client=10**9))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1:8000", timeout=60) as client:
            for index in range(warmup):
                await _conversation(client, index)
            before = rss_mb()
            started = time.perf_counter()
            done = 0
            while done < conversations:
                if budget_s is not None and time.perf_counter() - started > budget_s:
                    break
                await _conversation(client, done)
                done += 1
            took = time.perf_counter() - started
            after = rss_mb()
        await database.dispose()
    growth = round(after - before, 1) if before is not None and after is not None else None
    return {"conversations": done, "asked": conversations, "warmup_conversations": warmup,
            "stopped_by_budget": done < conversations, "rss_mb_before": before,
            "rss_mb_after": after, "rss_growth_mb": growth,
            "rss_growth_mb_per_1k": round(growth / done * 1000, 2) if growth is not None and done
            else None,
            "conversations_per_s": round(done / took, 1) if took else None,
            "seconds": round(took, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.memory")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--budget-s", type=float, help="stop early after this many seconds")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.conversations, warmup=args.warmup,
                                 budget_s=args.budget_s))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
