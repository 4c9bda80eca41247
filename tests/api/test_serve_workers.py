"""`chatpay serve --workers 2`: two merchant processes, one sandbox gateway, one database.

Also the one place a reply streams over a real socket (in-process transports buffer the body), so
the test can see server-sent events arrive before the turn's final events.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api import serve_workers
from tests.serve_process import chatpay_serve

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to list processes")


def children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes."""
    return list(child_processes(pid).values())


def child_processes(pid: int) -> dict[int, str]:
    """`pid`'s child processes: pid -> command line."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                with_nuls = (stat.parent / "cmdline").read_bytes()
                found[int(stat.parent.name)] = with_nuls.replace(b"\0", b" ").decode(
                    errors="replace")
        except (OSError, IndexError):
            continue  # the process ended while we looked
    return found


def workers_of(pid: int) -> set[int]:
    return {child for child, command in child_processes(pid).items()
            if "spawn_main" in command and "resource_tracker" not in command}


def socket_owners(pids: set[int], port: int) -> dict[int, int]:
    """How many established connections to `port` each of `pids` holds (from /proc)."""
    inodes: dict[str, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
    owners: dict[int, int] = dict.fromkeys(pids, 0)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
                if local_port == port and state == "01" and inode in inodes:  # 01: ESTABLISHED
                    owners[inodes[inode]] += 1
    return owners


def wait_for(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_connections_are_spread_across_the_workers(tmp_path: Path) -> None:
    """Each worker has its own SO_REUSEPORT socket: kept-alive connections do not pile onto one.

    With one shared socket (uvicorn's workers=N) whichever worker woke first took the burst of
    connections a client pool opens, and kept them.
    """
    with chatpay_serve(tmp_path, workers=2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        workers = workers_of(server.pid)
        # A burst, as a client pool opens them: on a shared socket the first worker to wake
        # accepts every connection waiting in the queue in one go.
        burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
        try:
            wait_for(lambda: sum(socket_owners(workers, port).values()) == 24)
            owners = socket_owners(workers, port)
        finally:
            for connection in burst:
                connection.close()
    assert len(owners) == 2, owners
    assert min(owners.values()) >= 4, owners  # the kernel's hash split, not 24 to 0


def test_a_dead_worker_is_replaced_and_the_shop_keeps_serving(tmp_path: Path) -> None:
    with chatpay_serve(tmp_path, workers=2) as server:
        first = workers_of(server.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(workers_of(server.pid) - {victim}) == 2)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(4):
                assert client.post("/api/conversations", json={"locale": "en"}).status_code == 201


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    """No orphan keeps serving old code on a port a restarted server would share with it."""
    with chatpay_serve(tmp_path, workers=2) as server:
        workers = workers_of(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        wait_for(lambda: not any(Path(f"/proc/{pid}/stat").exists()
                                 and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
                                 for pid in workers))


def test_a_port_in_use_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            serve_workers.ensure_port_free("127.0.0.1", port)



def test_two_workers_serve_one_shop(tmp_path: Path) -> None:
    with chatpay_serve(tmp_path, workers=2) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        # The supervisor (api.serve_workers) spawns two workers; the sandbox is a child of its own.
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
