"""Custom actions for the Rasa action server (`rasa run actions`).

Thin by design: each action reads the tracker, calls `bot/` for the rule or the query, and
says the answer. rasa-sdk imports every module of this package.
"""
