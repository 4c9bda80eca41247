"""A shopper's conversation over the chat HTTP API: start it, then send widget actions.

This module only houses `ChatClient`, the requests a browser sends, for tests that drive a merchant
app over HTTP (in process or a real server). `tests/reliability/test_killed_server.py` uses it;
`tests/api/conftest.Chat` is the same piece with a message and a card payment on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class ChatClient:
    """One conversation: its id and bearer token, and the requests that carry them."""

    client: httpx.AsyncClient
    id: str = ""
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self, locale: str = "en") -> list[dict[str, Any]]:
        """Open the conversation (201 expected); its first events."""
        response = await self.client.post("/api/conversations", json={"locale": locale})
        assert response.status_code == 201, response.text
        body = response.json()
        self.id, self.token = body["id"], body["token"]
        events: list[dict[str, Any]] = body["events"]
        return events

    async def act(self, **action: Any) -> httpx.Response:
        return await self.client.post(f"/api/conversations/{self.id}/actions", json=action,
                                      headers=self.auth)

    async def do(self, **action: Any) -> list[dict[str, Any]]:
        """Send an action that must succeed (200); the events it answered."""
        response = await self.act(**action)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events
