"""Pictures sent to and drawn by the bot: stored under the instance folder with generated names, served back.

A file is written under a random name (never the client's filename), before the database row
that links it to its message; a failed transaction removes it again. Only names that a row
links to a conversation are served, so the folder cannot be browsed or probed.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory
from sqlalchemy import or_, select

from webui.extensions import db
from webui.tables import Attachment

logger = logging.getLogger(__name__)

bp = Blueprint("uploads", __name__)

NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif|webp|bmp|tiff|avif|csv)$")
MIMETYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "bmp": "image/bmp",
             "tiff": "image/tiff", "avif": "image/avif", "csv": "text/csv"}


def upload_folder() -> Path:
    """``UPLOAD_FOLDER`` (default ``uploads`` in the instance folder)."""
    return Path(current_app.config["UPLOAD_FOLDER"])


def save_file(data: bytes, extension: str) -> str:
    """Write ``data`` under a new random name with ``extension`` (".png"); returns the name."""
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex + extension
    if not NAME.match(name):
        raise ValueError(f"unsupported picture extension {extension!r}")
    tmp = folder / (name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(folder / name)  # never a half-written file under a served name
    return name


def remove_files(names: Iterable[str | None]) -> None:
    """Delete stored files (after a failed transaction); missing ones are fine."""
    folder = upload_folder()
    for name in names:
        if name and NAME.match(name):
            (folder / name).unlink(missing_ok=True)


def decode_image(data: bytes):
    """The upload decoded by the library; one it cannot use raises its ``ImageError``, which
    ``webui.errors`` answers as a 4xx saying in Korean what is wrong."""
    from chatbot.vision.images import load_image

    return load_image(data)


@bp.get("/uploads/<name>")
def uploaded_file(name: str) -> Response:
    """A stored picture, if a message links to it."""
    if not NAME.match(name):
        abort(404)
    linked = db.session.execute(
        select(Attachment.id).where(or_(Attachment.file == name, Attachment.original == name)).limit(1)
    ).first()
    if linked is None:
        abort(404)
    extension = name.rsplit(".", 1)[1]
    # Tables are downloaded, never shown inline: a browser must not render an uploaded file as a page.
    response = send_from_directory(upload_folder(), name, mimetype=MIMETYPES[extension], max_age=86400,
                                   as_attachment=extension == "csv")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response
