"""Korean chatbot library: NLP pipeline, intents with fallback, responders.

Serving code uses one object: ``Bot.load(model_dir).reply(text, context)``.
"""

__version__ = "0.1.0"
__all__ = ["Bot", "Reply"]


def __getattr__(name: str):
    # Lazy, so that `import chatbot.nlp` does not pull in the whole pipeline.
    if name in __all__:
        from chatbot import bot

        return getattr(bot, name)
    raise AttributeError(name)
