"""chatbot.message_input and chatbot.errors: one check of a chat message, one error type for wrong input."""

from __future__ import annotations

import pytest

from chatbot.errors import InputError
from chatbot.message_input import MAX_MESSAGE_CHARS, CheckedMessage, check_message


@pytest.mark.parametrize(("text", "code"), [
    (None, "missing_message"), (42, "invalid_type"), (b"hi", "invalid_type"), ("", "empty_message"),
    (" \t\n\u3000 ", "empty_message"), ("가" * (MAX_MESSAGE_CHARS + 1), "message_too_long"),
    ("a\x00b", "invalid_message"), ("\ud800", "invalid_message"),
])
def test_bad_messages_raise_an_input_error_with_the_apis_code_and_korean_text(text, code):
    with pytest.raises(InputError) as info:
        check_message(text)
    assert info.value.code == code and info.value.status == 400
    assert any("\uac00" <= ch <= "\ud7a3" for ch in info.value.message)


def test_not_text_is_also_a_type_error_for_library_callers():
    with pytest.raises(TypeError):
        check_message(123)


def test_the_message_is_nfc_and_stripped_and_checked_once():
    decomposed = " \u1100\u1161 "  # 가 as macOS sends it
    checked = check_message(decomposed)
    assert checked == "가" and isinstance(checked, CheckedMessage)
    assert check_message(checked) is checked  # the bot does not check the API's text again


def test_the_limit_counts_nfc_characters_and_says_it_in_both_languages():
    assert check_message("가" * MAX_MESSAGE_CHARS)
    with pytest.raises(InputError, match=str(MAX_MESSAGE_CHARS)) as info:
        check_message("\u1100\u1161" * (MAX_MESSAGE_CHARS + 1))
    assert f"{MAX_MESSAGE_CHARS:,}자" in info.value.message


def test_a_missing_text_is_fine_with_an_attachment():
    assert check_message(None, allow_empty=True) == ""
    assert check_message("  ", allow_empty=True) == ""
    with pytest.raises(InputError):
        check_message(CheckedMessage(""))  # checked as empty-allowed, now without the attachment


def test_image_and_forecast_errors_are_input_errors():
    from chatbot.timeseries.series import ForecastInputError
    from chatbot.vision.images import ImageError

    errors = (ImageError("invalid_image", "이미지가 아니에요.", 415), ForecastInputError("empty_csv", "비어 있어요."))
    for error in errors:
        assert isinstance(error, InputError) and isinstance(error, ValueError)
        assert str(error) == error.message
    assert ImageError("x", "y", 413).status == 413
