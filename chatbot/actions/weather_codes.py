"""WMO weather interpretation codes (the ``weather_code`` of Open-Meteo-style providers) in Korean words."""

from __future__ import annotations

WMO_CODES: dict[int, str] = {
    0: "맑음", 1: "대체로 맑음", 2: "구름 조금", 3: "흐림", 45: "안개", 48: "서리 안개",
    51: "약한 이슬비", 53: "이슬비", 55: "짙은 이슬비", 56: "어는 이슬비", 57: "어는 이슬비",
    61: "약한 비", 63: "비", 65: "강한 비", 66: "어는 비", 67: "강한 어는 비",
    71: "약한 눈", 73: "눈", 75: "많은 눈", 77: "싸락눈",
    80: "약한 소나기", 81: "소나기", 82: "강한 소나기", 85: "눈 소나기", 86: "강한 눈 소나기",
    95: "뇌우", 96: "우박을 동반한 뇌우", 99: "강한 우박을 동반한 뇌우",
}


def sky(code: float | None) -> str:
    """The Korean words for a WMO code, or "" for a code we do not know."""
    if code is None:
        return ""
    return WMO_CODES.get(int(code), "")
