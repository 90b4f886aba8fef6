"""WCAG AA contrast of the chat page's colours, in the light and the dark theme.

Reads the custom properties of chat.css (``:root``, and ``:root`` inside ``prefers-color-scheme: dark``
over it) and checks every foreground/background pair the style sheets use, with WCAG 2's relative
luminance: 4.5:1 for text, 3:1 for the edges of fields and for focus rings and icons (WCAG 1.4.11).
A pair that the CSS starts using belongs in PAIRS; a colour changed in chat.css is checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import webui

STATIC = Path(webui.__file__).parent / "static"
CHAT_CSS = STATIC / "chat.css"

TEXT = 4.5
NON_TEXT = 3.0

# (foreground, background, minimum ratio, where the pair is used)
PAIRS = [
    ("text", "bg", TEXT, "the page, timestamps' neighbours, the composer field"),
    ("text", "surface", TEXT, "header, composer, drawer, dialogs, menus"),
    ("text", "bot-bubble", TEXT, "the bot's bubbles"),
    ("text", "chip-bg", TEXT, "the highlighted / command"),
    ("muted", "bg", TEXT, "message times, the placeholder, 👍/👎 icons"),
    ("muted", "surface", TEXT, "hints, subtitles, captions, the conversation list's times"),
    ("muted", "bot-bubble", TEXT, "forecast captions and scores inside the bot's bubbles"),
    ("muted", "chip-bg", TEXT, "the current conversation's time, the highlighted command's description"),
    ("user-text", "user-bubble", TEXT, "the user's bubbles"),
    ("accent-text", "accent", TEXT, "the send button, the avatar"),
    ("accent", "surface", TEXT, "links (account name, sign-up), the drop hint"),
    ("accent", "bg", TEXT, "hovered and expanded header and icon buttons"),
    ("chip-text", "chip-bg", TEXT, "quick-reply chips, the flash message, a pressed 👍"),
    ("error-text", "error-bg", TEXT, "error bubbles"),
    ("error-text", "surface", TEXT, "form errors, the over-limit counter"),
    ("error-text", "bg", TEXT, "the noscript note"),
    ("surface", "error-text", TEXT, "the danger (delete) button"),
    ("control-border", "surface", NON_TEXT, "text field edges on the composer, forms and the / menu"),
    ("control-border", "bg", NON_TEXT, "text field edges on the page background"),
    ("accent", "chip-bg", NON_TEXT, "focus ring and highlighted option edge on a tinted item; file icons"),
    ("surface", "user-bubble", NON_TEXT, "the focus ring's inner ring on the user's bubble"),
    ("surface", "accent", NON_TEXT, "the focus ring's inner ring on the send button"),
    ("accent", "track", NON_TEXT, "the classification bars"),
]

VARIABLE = re.compile(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\s*;")


def block_after(css: str, start: int) -> str:
    """The text between the first ``{`` after ``start`` and its matching ``}``."""
    opening = css.index("{", start)
    depth = 0
    for i in range(opening, len(css)):
        depth += {"{": 1, "}": -1}.get(css[i], 0)
        if depth == 0:
            return css[opening + 1 : i]
    raise ValueError("unbalanced braces")


def themes(css: str) -> dict[str, dict[str, str]]:
    """{"light": {name: "#rrggbb"}, "dark": {...}}: the dark theme is the light one with its overrides."""
    light = dict(VARIABLE.findall(block_after(css, css.index(":root"))))
    media = css.index("prefers-color-scheme: dark")
    inner = block_after(css, media)
    dark = {**light, **dict(VARIABLE.findall(block_after(inner, inner.index(":root"))))}
    return {"light": light, "dark": dark}


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rgb`` or ``#rrggbb``."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, from 1 (same colour) to 21 (black on white)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


THEMES = themes(CHAT_CSS.read_text(encoding="utf-8"))


def test_the_ratio_matches_known_values_and_can_fail():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777", "#777777") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey
    # The light theme's grey before this audit: 4.43:1 on the page background, which this test refuses.
    assert contrast("#6b7280", "#f4f5f7") < TEXT


def test_both_themes_are_parsed_and_differ():
    light, dark = THEMES["light"], THEMES["dark"]
    assert {"text", "bg", "surface", "muted", "accent", "control-border"} <= set(light)
    assert light["bg"] != dark["bg"] and light["text"] != dark["text"]
    assert luminance(light["bg"]) > luminance(light["text"]) and luminance(dark["bg"]) < luminance(dark["text"])


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("foreground,background,minimum,where", PAIRS, ids=[f"{p[0]}-on-{p[1]}" for p in PAIRS])
def test_pair_meets_wcag_aa(theme, foreground, background, minimum, where):
    colours = THEMES[theme]
    ratio = contrast(colours[foreground], colours[background])
    assert ratio >= minimum, (f"{theme}: --{foreground} {colours[foreground]} on --{background} "
                              f"{colours[background]} is {ratio:.2f}:1, needs {minimum}:1 ({where})")


def test_every_colour_variable_the_style_sheets_use_is_defined():
    # A misspelt or missing variable silently falls back to the browser's default colour, unchecked here.
    defined = set(THEMES["light"]) | set(re.findall(r"--([\w-]+)\s*:", CHAT_CSS.read_text(encoding="utf-8")))
    for sheet in sorted(STATIC.glob("*.css")):
        used = set(re.findall(r"var\(--([\w-]+)", sheet.read_text(encoding="utf-8")))
        assert used <= defined, f"{sheet.name} uses undefined {sorted(used - defined)}"
