"""Progress inside one long step, such as a network's training steps, for whoever runs the step to show.

A training run reports its pipeline steps through ``train_model``'s callback; a component that trains a
network spends most of a run inside one of them. The training loop calls ``report(done, total)`` after
each of its steps; a caller that wants those (``python -m chatbot train --progress-file``, so that the
trainer console's bar moves while a seq2seq or BERT model trains) wraps the work in ``listening(callback)``.
With no listener, ``report`` does nothing. A context variable, not a global: two runs in one process
(threads of a test, say) each hear their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[int, int], None]

_listener: ContextVar[Listener | None] = ContextVar("chatbot_step_progress", default=None)


def report(done: int, total: int) -> None:
    """``done`` of ``total`` units of the current step are finished (a listener may be called often)."""
    listener = _listener.get()
    if listener is not None and total > 0:
        listener(min(done, total), total)


@contextmanager
def listening(callback: Listener) -> Iterator[None]:
    """Call ``callback(done, total)`` for every ``report`` made inside the block."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)
