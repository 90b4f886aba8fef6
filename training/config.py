"""Training configs by name (``training/configs/NAME.yaml``) or by file path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).parent / "configs"
DEFAULT_CONFIG = "default"


def available_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def load_config(name_or_file: str | Path | None = None) -> dict[str, Any]:
    """Read a bundled config by name, or a YAML file; the result has ``pipeline`` and ``training``."""
    target = Path(name_or_file or DEFAULT_CONFIG)
    if not target.suffix and not target.exists():
        target = CONFIG_DIR / f"{target}.yaml"
        if not target.exists():
            raise ValueError(f"unknown config {name_or_file!r}; bundled: {', '.join(available_configs())}")
    if not target.exists():
        raise ValueError(f"config file {target} does not exist")
    config = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    if not isinstance(config, dict) or not isinstance(config.get("pipeline"), list):
        raise ValueError(f"{target}: a config needs a 'pipeline' list of {{name, params}}")
    config.setdefault("training", {})
    config["name"] = target.stem
    return config
