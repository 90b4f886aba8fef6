"""Intent-level replies prefer the response that shares words with the message, else stay random."""

from __future__ import annotations

from chatbot.message import Message, TrainingData
from chatbot.responders.base import Responder

RESPONSES = {
    "music_movie": ["영화라면 코미디를 추천해요 🎬", "노래라면 잔잔한 발라드가 좋아요 🎵", "요즘 뭐가 재밌으세요?"],
    "greeting": ["안녕하세요! 지금은 {time}이에요.", "반가워요!"],
}


class Echo(Responder):
    name = "echo_responder_for_tests"

    def respond(self, message, context):
        return self.intent_response(message)


def fitted(**params) -> Echo:
    return Echo(seed=0, **params).fit(TrainingData([], RESPONSES, {}))


def replies(responder: Echo, text: str, intent: str = "music_movie", n: int = 40) -> set[str]:
    return {responder.intent_response(Message(text, intent=intent, normalized=text)) for _ in range(n)}


def test_a_message_about_films_gets_the_film_reply():
    responder = fitted()
    assert replies(responder, "볼만한 영화 있어?") == {RESPONSES["music_movie"][0]}
    assert replies(responder, "신나는 노래 듣고 싶어") == {RESPONSES["music_movie"][1]}


def test_without_shared_words_every_response_stays_in_the_draw():
    assert replies(fitted(), "ㅎㅎ 그냥") == set(RESPONSES["music_movie"])


def test_overlap_zero_turns_the_preference_off():
    assert replies(fitted(response_overlap=0), "볼만한 영화 있어?") == set(RESPONSES["music_movie"])


def test_templates_are_filled_and_their_fields_do_not_count_as_words():
    got = replies(fitted(), "안녕하세요", intent="greeting")
    assert got and all("{" not in r for r in got)
    assert any(r.startswith("안녕하세요! 지금은") for r in got)


def test_a_model_saved_before_the_vectors_existed_still_answers():
    responder = fitted()
    del responder.response_vectors_
    assert replies(responder, "볼만한 영화 있어?") == set(RESPONSES["music_movie"])


def test_the_trained_bot_answers_films_with_a_film_reply(bot):
    for _ in range(5):
        reply = bot.reply("볼만한 영화 있어?")
        assert reply.intent == "music_movie" and "영화" in reply.text
