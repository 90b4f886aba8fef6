"""Responders turn an understood message into a reply: ``respond(message, context) -> str``."""

from chatbot.responders.base import Responder

__all__ = ["Responder"]
