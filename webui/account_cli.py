"""``users`` and ``export-feedback`` sub-commands: accounts and the trainers' feedback loop, from a terminal.

Both open the web app's database (``--database-url``, else ``DATABASE_URL``, else the instance
folder's SQLite file) without loading a model.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from webui.tables import ROLES


def register(subparsers: Any) -> None:
    """Add ``users`` and ``export-feedback`` to ``python -m chatbot``."""
    users = subparsers.add_parser("users", help="manage web chat accounts (add, list, set-role, token)",
                                  description="Manage the web chat's accounts.")
    _database_option(users)
    actions = users.add_subparsers(dest="users_command", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="user", help="user, trainer (trainer pages) or admin")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (for scripts) instead of asking twice")
    actions.add_parser("list", help="list accounts")
    role = actions.add_parser("set-role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    token = actions.add_parser("token", help="make a personal API token for an account (printed once)")
    token.add_argument("username")
    token.add_argument("--name", default="cli", help="a label for the token")
    users.set_defaults(func=run_users)

    export = subparsers.add_parser(
        "export-feedback",
        help="write rated and corrected chat exchanges as a training corpus CSV",
        description="Write a corpus file (columns text,intent,answer, the format `chatbot train --data` reads) "
        "from the feedback users gave in the web chat: every corrected bot reply becomes the user's message "
        "with the corrected answer, and every 👍 reply becomes the user's message with the bot's answer. "
        "👎 without a correction is counted but not exported.",
    )
    export.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the CSV")
    export.add_argument("--since", default=None, metavar="YYYY-MM-DD", help="only feedback given on or after this day")
    export.add_argument("--no-positive", action="store_true", help="export corrections only, not 👍 exchanges")
    export.add_argument("--unknown-intent", default="feedback", metavar="NAME",
                        help="intent for corrections of replies that fell back (no intent known; default: feedback)")
    _database_option(export)
    export.set_defaults(func=run_export)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="database (default: $DATABASE_URL, else instance/chat.db)")


def _app(args: argparse.Namespace) -> Any:
    from webui import create_app

    config: dict[str, Any] = {"DATABASE_ONLY": True}
    if args.database_url:
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
    return create_app(config)


def run_users(args: argparse.Namespace) -> int:
    """``users add|list|set-role|token``."""
    from sqlalchemy import select

    from webui.auth import AccountError, create_token, create_user, normalize_username
    from webui.extensions import db
    from webui.tables import User

    app = _app(args)
    with app.app_context():
        try:
            if args.users_command == "add":
                user = create_user(args.username, _read_password(args.password_stdin), args.role)
                db.session.commit()
                print(f"created {user.username} ({user.role})")
            elif args.users_command == "list":
                for user in db.session.execute(select(User).order_by(User.id)).scalars():
                    print(f"{user.id}\t{user.username}\t{user.role}\t{user.created_at:%Y-%m-%d}")
            else:
                name = normalize_username(args.username)
                user = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none()
                if user is None:
                    print(f"error: no account named {name!r}", file=sys.stderr)
                    return 1
                if args.users_command == "set-role":
                    user.role = args.role
                    db.session.commit()
                    print(f"{user.username} is now {user.role}")
                else:
                    _, token = create_token(user, args.name)
                    db.session.commit()
                    print(token)
        except AccountError as exc:
            db.session.rollback()
            print(f"error: {exc.message} ({exc.code})", file=sys.stderr)
            return 1
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def run_export(args: argparse.Namespace) -> int:
    """``export-feedback --out FILE.csv``."""
    from datetime import date, datetime, timezone

    from webui.feedback_export import export_feedback

    since = None
    if args.since:
        try:
            since = datetime.combine(date.fromisoformat(args.since), datetime.min.time(), tzinfo=timezone.utc)
        except ValueError:
            print(f"error: --since must be a date like 2026-11-24, got {args.since!r}", file=sys.stderr)
            return 2
    app = _app(args)
    with app.app_context():
        counts = export_feedback(args.out, since=since, positive=not args.no_positive,
                                 unknown_intent=args.unknown_intent)
    print(f"wrote {counts['rows']} rows to {args.out} ({counts['corrections']} corrections, "
          f"{counts['positive']} liked replies; skipped {counts['skipped']}: disliked without a correction, "
          "commands, pictures or duplicates)")
    return 0
