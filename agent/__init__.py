"""The conversation: model clients, the turn loop, tool dispatch, redaction, guided fallback."""
