"""`chatpay serve --workers 2`: two merchant processes, one sandbox gateway, one database.

Also the one place a reply streams over a real socket (in-process transports buffer the body), so
the test can see server-sent events arrive before the turn's final events.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.serve_process import chatpay_serve

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to list processes")


def children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            with_nuls = (stat.parent / "cmdline").read_bytes()
            found.append(with_nuls.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_two_workers_serve_one_shop(tmp_path: Path) -> None:
    with chatpay_serve(tmp_path, workers=2) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        # uvicorn's supervisor spawns two workers; the sandbox gateway is a child of its own.
        kids = children(server.pid)
        assert len([k for k in kids if "multiprocessing" in k and "spawn_main" in k]) == 2, kids
        assert len([k for k in kids if "tools.payments.sandbox" in k]) == 1, kids
        ids = []
        for _ in range(6):  # connections land on either worker; all see the same database
            started = client.post("/api/conversations", json={"locale": "en"})
            assert started.status_code == 201
            ids.append(started.json())
        for body in ids:
            auth = {"Authorization": f"Bearer {body['token']}"}
            reply = client.post(f"/api/conversations/{body['id']}/messages",
                                json={"text": "any green tea?"}, headers=auth)
            assert reply.status_code == 200, reply.text
            got = client.get(f"/api/conversations/{body['id']}", headers=auth)
            assert got.json()["transcript"][-len(reply.json()["events"]):] == reply.json()["events"]

        first = ids[0]
        auth = {"Authorization": f"Bearer {first['token']}", "Accept": "text/event-stream"}
        names: list[str] = []
        with client.stream("POST", f"/api/conversations/{first['id']}/messages",
                           json={"text": "hello, what can you do?"}, headers=auth) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    names.append(line[7:])
                elif line.startswith("data: ") and names[-1] == "events":
                    final = json.loads(line[6:])["events"]
        assert names[0] == "delta" and names[-2:] == ["events", "done"]
        assert final and final[0]["type"] == "message"
