"""What the model server (the review app) and the Rasa servers that pull from it agree on:
the address, the token's parameter, and how a model's registry id travels as an HTTP entity
tag.

Rasa 3.6's pulling (rasa/core/agent.py, `_pull_model_and_fingerprint`) sends its current
fingerprint as `If-None-Match`, takes 204 or 304 as "nothing new", and on a 200 keeps the
response's `ETag` header, as it came, as the new fingerprint; its `EndpointConfig` sends the
`token:` of the `models:` section as a query parameter named `token_name` ("token"). So the
ETag is the registry id quoted (`"20261207-0815-3f2a"`), Rasa sends it back as it got it, and
the web channel's /version reads the id out of it. Neither side imports the other: the review
app never imports Rasa.
"""

from __future__ import annotations

# The review app's route that answers the live model's archive (bot/review/model_server.py).
MODEL_SERVER_PATH = "/model/live.tar.gz"
# The query parameter Rasa's EndpointConfig sends the `token:` in (its `token_name`).
TOKEN_PARAMETER = "token"


def entity_tag(model_id: str) -> str:
    """The ETag of model `model_id`: its registry id, quoted (a strong tag: an id names one
    archive, byte for byte)."""
    return f'"{model_id}"'


def model_id_of(tag: str | None) -> str | None:
    """The registry id an entity tag carries (a weak `W/` tag too); None for anything that is
    not a quoted tag, such as the random fingerprint Rasa gives a model it loaded itself."""
    if not tag:
        return None
    quoted = tag.strip().removeprefix("W/")
    if len(quoted) < 3 or not (quoted.startswith('"') and quoted.endswith('"')):
        return None
    return quoted[1:-1]


def client_has(if_none_match: str | None, model_id: str) -> bool:
    """Whether an `If-None-Match` header names model `model_id` (or `*`), by the weak
    comparison RFC 9110 prescribes for it: then the answer is 304 Not Modified."""
    if not if_none_match:
        return False
    wanted = entity_tag(model_id)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False
