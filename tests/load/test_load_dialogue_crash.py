"""Conversations through a crash: guests fill reminder forms over three turns ("알림 설정해줘", what, when),
each turn on a new connection (any worker answers it), while the whole server is SIGKILLed and restarted on
the same database. Afterwards every acknowledged reminder is stored once, every conversation's stored
dialogue state is the one its last acknowledged turn left (or the next one, when a turn in flight at the
kill was committed unanswered), and every form left open is completed after the restart."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import pytest
from load_helpers import load_seconds

from benchmarks.load_client import HOST
from webui.reminders import MAX_REMINDERS

pytestmark = pytest.mark.load

GUESTS = 8  # each a browser of its own (cookies), filling one form after another
# A guest keeps at most MAX_REMINDERS reminders (the bot then says it cannot store more, and rightly stores
# none); on this machine a guest completed over 1,000 forms in a run, so each starts a new browser well before.
FORMS_PER_BROWSER = MAX_REMINDERS // 2
DOWN_SECONDS = 1.0
OPEN, WHAT, WHEN = "알림 설정해줘", "회의 준비 {tag}", "모레 아침 9시"
ALPHABETS = ("가나다라마바", "사자차카타파하")  # alternating, so no syllable repeats (the normalizer squeezes those)


def tag(n: int) -> str:
    """A unique Korean word for ``n``, with no digits (a digit would read as a time or a number)."""
    word, position = "", 0
    while True:
        letters = ALPHABETS[position % 2]
        word += letters[n % len(letters)]
        n //= len(letters)
        position += 1
        if not n:
            return word


@dataclass
class Form:
    """One conversation filling one reminder form: the turns the server acknowledged."""

    guest: int
    what: str
    conversation_id: str | None = None
    acknowledged: int = 0  # turns answered with 200, in order (a failure ends the conversation)
    cookies: dict[str, str] = field(default_factory=dict)  # the browser that fills it (its guest owns it)


@dataclass
class Guest:
    index: int
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    forms: list[Form] = field(default_factory=list)

    def post(self, body: dict[str, Any], cookies: dict[str, str]) -> tuple[int | None, dict[str, Any]]:
        """``POST /api/chat`` on a new connection with the browser's ``cookies`` (updated from the answer);
        ``(None, {})`` when the server is down."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request("POST", "/api/chat", body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(value)
                cookies.update({name: morsel.value for name, morsel in jar.items()})
        except (OSError, http.client.HTTPException):  # refused, reset, or cut off mid-answer by the kill
            return None, {}
        finally:
            conn.close()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, {}

    def say(self, form: Form, text: str) -> bool:
        body = {"message": text} | ({"conversation_id": form.conversation_id} if form.conversation_id else {})
        status, answer = self.post(body, form.cookies)
        if status != 200:
            return False
        form.conversation_id = answer["conversation_id"]
        form.acknowledged += 1
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.forms and len(self.forms) % FORMS_PER_BROWSER == 0:
                self.cookies = {}  # a new browser: one guest may keep only MAX_REMINDERS reminders
            form = Form(self.index, WHAT.format(tag=tag(self.index * 100_000 + len(self.forms))), cookies=self.cookies)
            self.forms.append(form)
            for text in (OPEN, form.what, WHEN):
                if stop.is_set() or not self.say(form, text):
                    break
            if form.acknowledged < 3:
                time.sleep(0.05)  # the server is down: do not spin


def stored(database_url: str) -> tuple[dict[str, dict[str, Any] | None], list[str]]:
    """Every conversation's dialogue state, and every reminder's text, read directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            states = {row[0]: json.loads(row[1]) if row[1] else None
                      for row in conn.execute(text("SELECT id, dialogue_state FROM conversations"))}
            reminders = [row[0] for row in conn.execute(text("SELECT text FROM reminders"))]
    finally:
        engine.dispose()
    return states, reminders


def pending(state: dict[str, Any] | None) -> tuple[str | None, Any]:
    """The slot a stored state waits for, and the ``what`` filled so far."""
    state = state or {}
    waiting = (state.get("pending") or {}).get("slot")
    return waiting, ((state.get("slots") or {}).get("what") or {}).get("value")


def test_sigkill_keeps_every_acknowledged_reminder_and_open_form(start_server, database_url):
    server = start_server()
    seconds = load_seconds()
    guests = [Guest(i, server.port) for i in range(GUESTS)]
    stop = threading.Event()
    threads = [threading.Thread(target=g.run, args=(stop,), daemon=True) for g in guests]
    for thread in threads:
        thread.start()
    try:
        time.sleep(seconds / 2)
        server.kill()
        time.sleep(DOWN_SECONDS)
        server.start()
        time.sleep(seconds / 2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    forms = [form for guest in guests for form in guest.forms]
    states, reminders = stored(database_url)
    assert any(f.acknowledged == 3 for f in forms), "no form was completed: the run tested nothing"
    assert any(0 < f.acknowledged < 3 for f in forms), "no form was left open by the kill"

    for form in forms:
        if form.acknowledged == 3:
            assert reminders.count(form.what) == 1, f"acknowledged reminder {form.what!r}: {reminders.count(form.what)}"
            continue
        assert reminders.count(form.what) <= 1
        if form.acknowledged == 0:
            continue
        waiting, what = pending(states[form.conversation_id])
        # The last acknowledged turn's state, or the next one's (a turn in flight at the kill, committed). A
        # completed form keeps no slots (reminder_set hands back keep_slots=False): its proof is the reminder.
        after_open, after_what, after_when = ("what", None), ("when", form.what), (None, None)
        allowed = [after_open, after_what] if form.acknowledged == 1 else [after_what, after_when]
        assert (waiting, what) in allowed, (form, states[form.conversation_id])
        if (waiting, what) == after_when:
            assert reminders.count(form.what) == 1

    # Every form still open after the restart goes on where it stopped.
    by_index = {guest.index: guest for guest in guests}
    for form in forms:
        if form.acknowledged and form.acknowledged < 3 and pending(states[form.conversation_id])[0] == "when":
            guest = by_index[form.guest]
            assert guest.say(form, WHEN), "the restarted server did not answer"
    _, reminders_after = stored(database_url)
    for form in forms:
        if form.acknowledged and pending(states[form.conversation_id]) == ("when", form.what):
            assert reminders_after.count(form.what) == 1, f"the open form {form.what!r} was not completed"
