"""The tracker-store database (`TRACKER_STORE_URL`): Rasa's `events` table and the review
app's `review_*` tables beside it, read, searched, erased and purged from here only.

Rasa writes the events through its own tracker store (bot/tracker_store.py); everything else
that reaches this database comes through this package: the review app (bot.review), the CLI
(`bot staff`, `bot review`, `bot privacy purge`), `bot run`'s retention schedule and the
channels' "Forget me" and the admin's erase button (erasure.erase_conversation_locked, under
the conversation's lock).

Modules, each importing only those above it:

* `engine`: the engines, with every wait bounded; `schema`: the tables.
* `user_messages`: a user message as Rasa stores it; `stuck`: repeated messages (the
  "stuck" signal); `messages`: the `review_messages` copy that filters read instead of JSON;
  `plans`: the involvement plans given; `paging`: one page of a list.
* `filters` (the inbox's filters and search as SQL), `inbox` (summaries, exports),
  `transcript` (one conversation), `handoffs`, `dashboard`: the reads, and `store`
  (`ConversationStore`), the review app's handle on them.
* `conversation_lock`: Rasa's conversation lock in the shared Redis, for the review app,
  which does not load Rasa; `erasure`: erase one conversation (under that lock, or the Rasa
  server's own), purge old messages.

Async-safe: every database function is synchronous, blocking and bounded in time (connect,
lock and statement timeouts, bot.tracker_db.engine); async code calls it through
`asyncio.to_thread`, as erasure.erase_conversation_locked (async, for the channels) does, and
the review app runs its pages in a worker thread (bot.review.context.guarded).
"""
