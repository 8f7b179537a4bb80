"""Uploading events from a .ics or .csv file: a preview of what would be added, updated or
refused (with each reason), then one apply that writes the whole file or nothing.

The preview page carries the file itself (base64, in a hidden field) rather than keeping it on
the server: nothing is stored between the two steps, any replica can apply it, and apply
parses and checks it again, so what is written is exactly what the rules accept at that
moment. A file with a refused row cannot be applied: staff fix the file and upload it again.
"""

from __future__ import annotations

import base64
import binascii

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from bot import curation
from bot.dates import today
from bot.events import AUDIENCES, KINDS
from bot.importer import CSV_REQUIRED, IcsDefaults, ParsedRow, parse_upload
from bot.review.context import Context
from bot.review.pages.curated import lookup_session
from bot.review.pages.events import EVENTS
from bot.seed import EVENT_FIELDS, SeedError

# The apply form carries the file in base64 (4/3 of its size) under the app's limit on a
# request body (bot.review.app, 1 MB): half a megabyte of calendar is thousands of events.
MAX_UPLOAD_BYTES = 512 * 1024
# For a .ics file whose events do not say it themselves (ORGANIZER, CATEGORIES).
DEFAULT_FIELDS = ("kind", "organiser", "audience")


def _defaults(context: Context) -> dict[str, str]:
    """The defaults the form sent, or a 400 for a kind or an audience we do not know."""
    defaults = {name: context.field(name).strip() for name in DEFAULT_FIELDS}
    for name, allowed in (("kind", KINDS), ("audience", AUDIENCES)):
        if defaults[name] and defaults[name] not in allowed:
            raise HTTPException(400, f"Unknown {name} {defaults[name][:40]!r}.")
    return defaults


def _upload_page(
    context: Context, defaults: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    return context.render(
        "events_upload.html",
        status_code=status,
        section="events",
        defaults=defaults,
        error=error,
        kinds=KINDS,
        audiences=AUDIENCES,
        max_kilobytes=MAX_UPLOAD_BYTES // 1024,
        csv_required=sorted(CSV_REQUIRED),
        csv_optional=sorted(EVENT_FIELDS - CSV_REQUIRED),
    )


def _parsed(filename: str, content: bytes, defaults: dict[str, str]) -> list[ParsedRow]:
    """The file's events, each checked (raises SeedError for a file that cannot be read)."""
    ics = IcsDefaults(
        kind=defaults["kind"] or None,
        organiser=defaults["organiser"] or None,
        audience=defaults["audience"] or "everyone",
    )
    return parse_upload(filename, content, today(), ics)


def _preview_page(
    context: Context,
    filename: str,
    content: bytes,
    defaults: dict[str, str],
    preview: curation.ImportPreview,
    status: int = 200,
) -> Response:
    return context.render(
        "upload_preview.html",
        status_code=status,
        section="events",
        filename=filename,
        content=base64.urlsafe_b64encode(content).decode("ascii"),
        defaults=defaults,
        preview=preview,
        applying=status != 200,
    )


def upload_form(context: Context) -> Response:
    return _upload_page(context, dict.fromkeys(DEFAULT_FIELDS, ""))


def upload_preview(context: Context) -> Response:
    """What the chosen file would change, row by row; nothing is written."""
    defaults = _defaults(context)
    upload = context.form.get("file") if context.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(context, defaults, "Choose a .ics or .csv file.", 400)
    content = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        too_big = f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KB: split it in two."
        return _upload_page(context, defaults, too_big, 400)
    try:
        rows = _parsed(upload.filename, content, defaults)
    except SeedError as error:
        return _upload_page(context, defaults, str(error), 400)
    with lookup_session(context) as session:
        preview = curation.preview_import(session, rows)
    return _preview_page(context, upload.filename, content, defaults, preview)


def upload_apply(context: Context) -> Response:
    """Check the previewed file again and write all of it in one transaction, or nothing
    (400) when any row is refused."""
    defaults = _defaults(context)
    filename = context.field("filename")
    try:
        content = base64.urlsafe_b64decode(context.field("content").encode("ascii"))
    except (ValueError, binascii.Error) as error:
        raise HTTPException(400, "The uploaded file was damaged: upload it again.") from error
    try:
        rows = _parsed(filename, content, defaults)
    except SeedError as error:
        return _upload_page(context, defaults, str(error), 400)
    with lookup_session(context, commit=True) as session:
        preview = curation.preview_import(session, rows)
        if not preview.can_apply:
            return _preview_page(context, filename, content, defaults, preview, 400)
        report = curation.apply_import(session, preview, context.who)
    context.flash(f"Applied {filename}: {report}.")
    return context.redirect(EVENTS.path)
