"""Loading a conversation row for the commerce core (one place for the "unknown conversation" rule)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tools.cart.errors import ConversationNotFound
from tools.store.models import Conversation


async def load_conversation(session: AsyncSession, conversation_id: str) -> Conversation:
    """The conversation, or ConversationNotFound (404)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation
