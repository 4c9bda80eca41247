"""`DELETE /api/conversations/{id}`: a shopper erases their own conversation.

This module only houses that route; the erase rules (what goes, what the orders keep) live in
`tools.retention`. The bearer token of the conversation is the only credential: another
conversation's token gets the same 404 as an unknown id, and after the erase the token opens
nothing (404), because the stored hash is gone with the conversation.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ConversationDep, DatabaseDep
from tools.retention import erase_conversation

router = APIRouter(prefix="/api/conversations", tags=["privacy"])


@router.delete("/{conversation_id}", status_code=204, response_class=Response)
async def delete_conversation(conversation: ConversationDep, database: DatabaseDep) -> Response:
    """Erase the transcript and personal data of this conversation; orders keep what they need."""
    async with database.session() as session:
        await erase_conversation(session, conversation.id)
        await session.commit()
    return Response(status_code=204)
