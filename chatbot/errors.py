"""The one error type for "the user's input is wrong", shared by every part of the library.

A front end (the web API, the command line) catches ``InputError`` by type and shows ``message``
to the user; ``code`` is a stable machine name and ``status`` the HTTP status it suggests.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input that cannot be used: a stable ``code``, a Korean ``message`` for the user, an HTTP-style ``status``.

    ``str(error)`` is ``detail`` when one is given (for developers, in English), else the message."""

    def __init__(self, code: str, message: str, status: int = 400, detail: str | None = None):
        super().__init__(detail or message)
        self.code = code
        self.message = message
        self.status = status


class InputTypeError(InputError, TypeError):
    """Input of the wrong Python type (``None``, bytes, a number where text belongs): also a TypeError,
    so library callers that catch TypeError keep working."""
