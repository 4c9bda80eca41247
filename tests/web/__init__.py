"""The web chat page in a real headless Chromium, against the real service in a subprocess."""
