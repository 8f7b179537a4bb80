"""The review app's pages, one module per page with its forms: `login`, `inbox` (with the
exports), `conversation` (the transcript and what staff change on it), `nlu` (the NLU inbox),
`handoffs`, `dashboard`, `staff`; `params` reads query strings and form numbers for them.

Each view takes a bot.review.context.Context and returns a response; `guarded` has already
checked the session, the role and the CSRF token. Changes answer with a 303 redirect back to
the page they came from (post/redirect/get), with a one-line message shown there. The route
table is in bot.review.app. A page imports bot.review.context and the data modules, never
another page or the app.
"""
