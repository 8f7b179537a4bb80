"""Rasa input channels: validated REST, the web chat page, Telegram."""
