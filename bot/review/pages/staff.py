"""Staff accounts (administrators only): list, add, remove."""

from __future__ import annotations

from starlette.responses import Response

from bot.review.accounts import AccountError, add_staff, list_staff, remove_staff
from bot.review.context import Context
from bot.tracker_db.schema import ROLES


def staff_page(context: Context) -> Response:
    return context.render(
        "staff.html", section="staff", members=list_staff(context.engine), roles=ROLES
    )


def staff_add(context: Context) -> Response:
    password = context.field("password")
    if password != context.field("password_again"):
        context.flash("The two passwords differ.", "error")
        return context.redirect("/staff")
    try:
        added = add_staff(
            context.engine, context.field("username"), password, context.field("role", "reviewer")
        )
    except AccountError as error:
        context.flash(str(error), "error")
    else:
        context.flash(f"Account {added.username} ({added.role}) created.")
    return context.redirect("/staff")


def staff_remove(context: Context) -> Response:
    username = context.field("username")
    if context.staff and username == context.staff.username:
        context.flash("You cannot remove your own account.", "error")
    elif remove_staff(context.engine, username):
        context.flash(f"Account {username} removed.")
    else:
        context.flash(f"There is no account {username}.", "error")
    return context.redirect("/staff")
