"""The tool commands reached in words, through slots: forecasts ("co2 데이터로 1년 예측해줘") and pictures."""

from __future__ import annotations
