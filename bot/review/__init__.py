"""The staff review app: read the stored conversations, label what the model got wrong.

A small Starlette app, rendered on the server, that reads Rasa's `events` table in the
tracker-store database (`TRACKER_STORE_URL`) and keeps its own data — staff accounts, review
status, tags, notes, flags, NLU relabels, login attempts — in its own `review_*` tables
there, migrated by Alembic (`bot/review/migrations/`, version table `review_alembic_version`).
Rasa's rows are read, never changed, except when a conversation is erased or purged.

The reads, searches, erasure and purge of that database, its engine and its tables are in
bot.tracker_db; this package is the web app and what staff write:

* `app` (the route table, middleware), `context` (`Context`, `guarded`: session, role and
  CSRF rules), `pages/` (one module per page), `rendering` (templates), `middleware`;
* `accounts` (staff, passwords, login throttling), `annotations` (status, tags, notes,
  flags), `nlu` (NLU inbox, labels, export), `charts` (SVG), `exports` (CSV/JSON);
* `database` (the migrations), `config` (settings from the environment).

Imports go one way: app → pages → context → the data modules; no page imports another.
See docs/review.md.
"""
