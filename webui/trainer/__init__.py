"""The trainer console (``/trainer``, role trainer or admin): upload and validate a corpus, train it in a
background job, read the evaluation report, compare with the live model, promote, and turn feedback
into a corpus.

Pages are server-rendered forms with CSRF tokens; ``static/trainer.js`` adds the live progress bar.
Every view is ``role_required("trainer")``; errors inside the console are console pages (a guest goes to
the login form), and ``/trainer/api/`` answers in JSON like ``/api/``.
"""

from __future__ import annotations

from webui.trainer import feedback_pages, pages  # noqa: F401  (their routes join bp)
from webui.trainer.blueprint import bp

__all__ = ["bp"]
