"""The words of a message that are not entities nor a request: a reminder's "what" ("회의"), or a bare answer.

"내일 오후 3시에 회의 있다고 알려줘" less its time expression, its request ("알려줘") and its quotative
ending ("있다고" -> "있다") is "회의 있다"; "약 먹으라고 알려줘" is "약 먹기". Regular expressions over the few Korean
request phrases a chat uses; an entity span is cut out by its offsets, so nothing depends on spacing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatbot.message import Entity

# What asks the bot to do something with the words before it (at the end of the message).
_REQUEST = re.compile(
    r"\s*(?:(?:알림|리마인더?|리마인드|메모|일정|스케줄|기억|알람)\s*(?:으로|로)?\s*)?"
    r"(?:좀\s*)?(?:꼭\s*)?"
    r"(?:알려|알리|리마인드\s*해|메모\s*해|기억\s*해|저장\s*해|등록\s*해|추가\s*해|설정\s*해|맞춰|잡아|말해|넣어|적어|만들어|"
    r"지워|삭제\s*해|삭제|없애|취소\s*해|빼)"
    r"\s*(?:줘|주세요|줄래|줄래요|줘요|주라|다오|주실래요|줄\s*수\s*있어\??|놔|둬|놔줘|둬줘)?[.!?~ㅎㅋ\s]*$")
_NOUN_REQUEST = re.compile(r"\s*(?:알림|리마인더|리마인드|메모|일정|알람)\s*(?:좀\s*)?(?:등록|추가|설정|저장|삭제)?\s*"
                           r"(?:좀\s*)?(?:해\s*줘|해\s*주세요|부탁해|부탁해요|해|할래)?[.!?~\s]*$")
# Words that say "a reminder" but not what it is about ("새 알림 하나 만들어 줘"): alone, they are no answer.
_FILLER = {"새", "새로", "하나", "하나만", "한", "개", "좀", "알림", "리마인더", "리마인드", "일정", "메모", "알람",
           "스케줄", "이거", "그거", "저거", "거", "것", "꼭", "아니", "아니요", "아냐", "아니고", "말고", "다시", "로",
           "으로", "더", "또", "하나더"}
CORRECTION = re.compile(r"^(?:아니(?:요|야|고)?|아냐|아 ?아니|그게 아니라|잘못 말했어)[\s,.]*")
_QUOTE = re.compile(r"(?:으라고|하라고|이?라고|다고|자고|냐고)$")
_QUOTED = {"으라고": "기", "하라고": "하기", "다고": "다"}  # "약 먹으라고" -> "약 먹기"; others drop
# "만나라고": after a verb 라고 is an order too ("친구 만나기"), after a noun a name ("회의라고" -> "회의"); the
# caller knows which from the morphemes (``verb_quote``).
_EDGE = re.compile(r"^(?:[은는이가을를에의와과도로]|에서|에는|까지|부터|으로|이랑|랑)(?=\s|$)\s*|[\s,.!?~]+$")


def cut_spans(text: str, entities: Iterable[Entity]) -> str:
    """``text`` with every entity's ``[start, end)`` replaced by a space."""
    chars = list(text)
    for entity in entities:
        for i in range(max(entity.start, 0), min(entity.end, len(chars))):
            chars[i] = " "
    return re.sub(r"\s+", " ", "".join(chars)).strip()


def free_text(text: str, entities: Iterable[Entity] = (), verb_quote: bool = False) -> str:
    """What the message says besides its entities and its request, or "" when nothing is left.

    ``verb_quote``: the message's 라고 follows a verb ("만나라고"), so it becomes 기 ("만나기")."""
    quoted = {**_QUOTED, "라고": "기"} if verb_quote else _QUOTED
    rest = CORRECTION.sub("", cut_spans(text, entities))
    for _ in range(3):  # "내일 3시에 회의라고 알림 좀 설정해 줘": request, then quote, then the particle left
        before = rest
        rest = _REQUEST.sub("", rest)
        rest = _NOUN_REQUEST.sub("", rest)
        rest = _QUOTE.sub(lambda m: quoted.get(m.group(0), ""), rest).strip()
        rest = _EDGE.sub("", rest).strip()
        if rest == before:
            break
    if all(word in _FILLER for word in rest.split()):
        return ""
    return rest if re.search(r"[가-힣A-Za-z0-9]", rest) else ""


def is_verb_quote(tokens: Iterable[object]) -> bool:
    """Whether a 라고 of the message (Kiwi: an ending, E*) follows a verb or adjective stem (VV, VA, VX)."""
    previous = ""
    for token in tokens:
        form, pos = getattr(token, "form", ""), getattr(token, "pos", "")
        if form in ("라고", "으라고") and pos.startswith("E") and previous in ("VV", "VA", "VX"):
            return True
        previous = pos
    return False


def residual(text: str, entities: Iterable[Entity]) -> str:
    """The message less its entities and a polite answer tail ("부산이요" -> "", "모레로 해줘" -> "")."""
    rest = CORRECTION.sub("", cut_spans(text, entities))
    rest = re.sub(r"(?:^|\s)(?:이요|요|으로|로|에|이야|야|입니다|이에요|예요|요\.)(?=\s|$)", " ", rest)
    tail = r"(?:(?:으로|로)\s*)?(?:해\s*줘|해\s*주세요|할게|할래|요|해요|부탁해)?[\s,.!?~ㅎㅋ]*$"
    rest = re.sub(tail, "", rest.strip())
    return re.sub(r"^[은는이가을를에의와과도로](?=\s|$)", "", rest).strip()
