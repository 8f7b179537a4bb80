"""The staff review app: read the stored conversations, label what the model got wrong.

A small Starlette app, rendered on the server, that reads Rasa's `events` table in the
tracker-store database (`TRACKER_STORE_URL`) and keeps its own data — staff accounts, review
status, tags, notes, flags, NLU relabels, login attempts — in its own `review_*` tables
there, migrated by Alembic (`bot/review/migrations/`, version table `review_alembic_version`).
Rasa's rows are read, never changed, except when a conversation is erased or purged.

Modules: `schema` (tables), `database` (engine, migrations), `accounts` (staff, passwords,
login throttling), `messages` (user messages and their plain-column copy, ratings), `stuck`
(repeated messages: the "stuck" signal), `conversations`
(inbox, transcript, hand-offs, dashboard numbers), `plans` (patient-involvement plans given,
shown per conversation and counted on the dashboard), `annotations` (status, tags, notes,
flags), `nlu` (NLU inbox and export), `charts` (SVG), `exports` (CSV/JSON), `app` and
`views` (the web app), `config` (settings from the environment). See docs/review.md.
"""
