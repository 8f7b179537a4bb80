"""Staff commands for the Telegram bot: register or remove the webhook, or long-poll.

`poll` is for developers without a public HTTPS address: it fetches updates with getUpdates
and posts each one, with the secret header, to the local webhook, so the same channel code
handles them.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request

from bot.channels.telegram import SECRET_HEADER, make_bot
from bot.settings import current


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _required(name: str, value: str | None) -> str:
    if not value:
        raise ConfigurationError(f"Set {name} first (see README, Telegram).")
    return value


async def run(command: str, args: argparse.Namespace) -> int:
    settings = current()
    telegram = settings.telegram
    bot = make_bot(_required("TELEGRAM_TOKEN", telegram.token), telegram.api_url)
    secret = _required("TELEGRAM_WEBHOOK_SECRET", telegram.webhook_secret)
    async with bot:
        if command == "set-webhook":
            await bot.set_webhook(
                args.url, secret_token=secret, allowed_updates=["message", "callback_query"]
            )
            print(f"Telegram will send updates to {args.url}.")
        elif command == "delete-webhook":
            await bot.delete_webhook()
            print("Webhook removed.")
        elif command == "poll":
            webhook = (
                args.webhook
                or f"http://127.0.0.1:{settings.network.rasa_port}/webhooks/telegram/webhook"
            )
            await bot.delete_webhook()  # getUpdates refuses to run while a webhook is set
            print(f"Polling Telegram; updates go to {webhook}. Ctrl-C stops.")
            offset = None
            while True:
                for update in await bot.get_updates(offset=offset, timeout=30):
                    offset = update.update_id + 1
                    forward(webhook, update.to_dict(), secret)
    return 0


def forward(webhook: str, update: dict, secret: str) -> None:
    request = urllib.request.Request(
        webhook,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", SECRET_HEADER: secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=60):
            pass
    except urllib.error.URLError as error:
        print(f"Could not deliver update {update.get('update_id')}: {error}")
