"""An ordered list of components, described by plain data and saved with its own description.

A saved pipeline is a model directory (``chatbot.model_dir``): the ``{name, params}`` list that built
it, each stage's learned state, and what it was trained on, with which library versions, and how well
it did. Serving reads the directory, never the source config, so training and serving process text alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.model_dir import ModelDir, ModelNotFound
from chatbot.registry import check_order, create

log = logging.getLogger(__name__)
__all__ = ["ModelNotFound", "Pipeline"]  # ModelNotFound lives in chatbot.model_dir; importable here too


# What stages write when they learn from intent labels: they fit on the rows that carry an intent, so
# that entity-only rows (annotated sentences without an intent) train the entity stages alone.
INTENT_CAPABILITIES = frozenset({"intent", "fallback", "reply"})


# What stages write that no stage learns from: fitting reads the gold labels (intents, entities, answers),
# not another stage's predicted entities, fallback flags, dialogue decisions or replies. So ``fit`` does
# not compute them over the training rows (times and fallback checks on 50,000 rows took half the
# training time), unless a later stage declares that it needs them.
NOT_LEARNT_FROM = frozenset({"entities", "fallback", "dialogue", "reply"})


def learns_intents(component: Component | type[Component]) -> bool:
    return bool(INTENT_CAPABILITIES.intersection(component.provides))


def feeds_later_fits(components: list[Component], i: int) -> bool:
    """Whether ``fit`` must run stage ``i`` over the training rows for the stages after it: it writes
    something other than ``NOT_LEARNT_FROM`` (or declares nothing), or a later stage needs what it writes."""
    provides = set(components[i].provides)
    if not provides or not provides <= NOT_LEARNT_FROM:
        return True
    return any(provides.intersection(later.needs()) for later in components[i + 1:])


class Pipeline:
    """Components applied in order; fitting feeds each stage the output of the ones before."""

    def __init__(self, steps: list[dict[str, Any]], components: list[Component] | None = None,
                 meta: dict[str, Any] | None = None):
        self.steps = [{"name": s["name"], "params": dict(s.get("params") or {})} for s in steps]
        self.components = components or [create(s["name"], s["params"]) for s in self.steps]
        self.meta = meta or {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Pipeline:
        """Build an unfitted pipeline from ``{"pipeline": [{name, params}, ...]}``, its stages checked in order."""
        steps = config.get("pipeline")
        if not isinstance(steps, list) or not steps:
            raise ValueError("a config needs a non-empty 'pipeline' list of {name, params}")
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or "name" not in step:
                raise ValueError(f"pipeline step {i + 1} needs a 'name'")
        pipeline = cls(steps)
        check_order([s["name"] for s in pipeline.steps], pipeline.components)
        return pipeline

    def fit(self, data: TrainingData, progress: Callable[[str], None] | None = None) -> Pipeline:
        """Fit each stage on the data as processed by the stages before it.

        The training messages are left as the stages learnt from them: stages that only write what no
        stage learns from (``NOT_LEARNT_FROM``: entities, fallback flags) do not process them unless a
        later stage needs it, and the last stage never does."""
        messages = data.messages
        for i, component in enumerate(self.components):
            if progress:
                progress(component.name)
            stage_data = data.with_messages(messages)
            component.fit(stage_data.with_intents() if learns_intents(component) else stage_data)
            if i < len(self.components) - 1 and feeds_later_fits(self.components, i):
                messages = component.process_batch(messages)
        return self

    def process(self, message: Message) -> Message:
        for component in self.components:
            message = component.process(message)
        return message

    def process_batch(self, messages: list[Message]) -> list[Message]:
        for component in self.components:
            messages = component.process_batch(messages)
        return messages

    def tune(self, messages: list[Message]) -> dict[int, dict[str, Any]]:
        """Let stages with a ``tune`` method set parameters from held-out messages.

        Returns ``{step index: {param: value}}``, which training writes into the final config.
        """
        overrides: dict[int, dict[str, Any]] = {}
        for i, component in enumerate(self.components):
            if hasattr(component, "tune"):
                rows = [m for m in messages if m.gold_intent] if learns_intents(component) else messages
                overrides[i] = component.tune(rows)
                self.steps[i]["params"].update(overrides[i])  # so that save() records the tuned values
                log.info("tuned %s: %s", component.name, overrides[i])
            messages = component.process_batch(messages)
        return overrides

    def find(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def save(self, directory: str | Path) -> Path:
        """Write the model directory: the steps, each component's state, and ``meta``."""
        model = ModelDir(directory)
        model.write_config(self.steps)
        for i, component in enumerate(self.components):
            component.save(model.component_dir(i, component.name))
        model.write_meta(self.meta)
        return model.path

    @classmethod
    def load(cls, directory: str | Path) -> Pipeline:
        """Load a model directory; ModelNotFound (a FileNotFoundError) says how to train one."""
        model = ModelDir(directory)
        steps = model.read_config()
        from chatbot.registry import component_class

        components = [component_class(s["name"]).load(model.component_dir(i, s["name"]), s.get("params") or {})
                      for i, s in enumerate(steps)]
        return cls(steps, components, model.read_meta())
