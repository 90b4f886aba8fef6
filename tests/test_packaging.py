"""The package tells the truth: the wheel carries its data files, and pyproject.toml, requirements*.txt
and constraints.txt name the same packages at agreeing versions."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("chatbot", "training", "webui")
# Pinned for a reason of their own, not imported by the code: scikit-learn's narwhals (pinned for
# speed), the build backend that `make setup` installs with, and Playwright's greenlet.
PIN_ONLY = {"narwhals", "setuptools", "greenlet"}


def _pins(name: str) -> dict[str, Requirement]:
    """The requirements of one requirements file, by canonical name."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text(encoding="utf-8").splitlines())
    return {canonicalize_name(r.name): r for r in map(Requirement, filter(None, lines))}


def _ranges(requirements: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, requirements)}


def _pinned_version(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} in a requirements file must be pinned with =="
    return spec.version


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (the build writes build/ and *.egg-info beside them)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                           "--no-index", "--quiet", "--wheel-dir", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def test_wheel_carries_the_migrations_templates_and_static_files(wheel):
    names = set(wheel.namelist())
    tracked = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    data_files = {line for line in tracked.stdout.splitlines() if not line.endswith(".py")}
    if tracked.returncode != 0 or not data_files:  # not a git checkout: list the files on disk instead
        data_files = {str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*")
                      if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert {"webui/migrations/alembic.ini", "webui/migrations/script.py.mako"} <= names
    assert {"webui/migrations/env.py", "webui/templates/index.html", "webui/static/chat.js",
            "chatbot/nlp/data/stopwords.txt", "training/configs/default.yaml"} <= names
    assert any(n.startswith("webui/migrations/versions/") and n.endswith(".py") for n in names)
    assert sorted(data_files - names) == [], "package-data in pyproject.toml misses these files"


def test_wheel_metadata_declares_the_dependencies_and_extras(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode("utf-8")
    requires = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Requires-Dist: ")]
    names = {canonicalize_name(Requirement(r).name) for r in requires}
    assert {"flask", "numpy", "scikit-learn", "kiwipiepy", "torch", "alembic"} <= names
    assert {"transformers", "konlpy", "python-mecab-ko", "gunicorn", "psycopg", "redis"} <= names
    extras = {line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Provides-Extra: ")}
    assert {"bert", "konlpy", "mecab", "prod"} <= extras
    assert f"Requires-Python: {PYPROJECT['project']['requires-python']}" in text.splitlines()


def test_requirements_txt_pins_exactly_what_pyproject_declares():
    declared = _ranges(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared.update(_ranges(extra))
    pins = _pins("requirements.txt")
    assert sorted(set(declared) - set(pins)) == [], "declared in pyproject.toml but not pinned in requirements.txt"
    assert sorted(set(pins) - set(declared) - PIN_ONLY) == [], "pinned in requirements.txt, not in pyproject.toml"
    for name, requirement in declared.items():
        assert requirement.specifier.contains(_pinned_version(pins[name])), f"{pins[name]} is outside {requirement}"
        assert str(requirement.marker) == str(pins[name].marker), f"{name}: the two files' markers differ"


def test_requirements_dev_txt_pins_exactly_the_dev_group():
    group = _ranges(PYPROJECT["dependency-groups"]["dev"])
    pins = _pins("requirements-dev.txt")
    assert sorted(set(group) ^ (set(pins) - PIN_ONLY)) == [], "the dev group and requirements-dev.txt differ"
    for name, requirement in group.items():
        assert requirement.specifier.contains(_pinned_version(pins[name])), f"{pins[name]} is outside {requirement}"
    runtime = _pins("requirements.txt")
    assert not {"pytest", "playwright", "hypothesis", "ruff", "mypy"} & set(runtime), "test tools in the runtime"


def test_constraints_txt_agrees_with_every_pin():
    constraints = _pins("constraints.txt")
    for name, pin in {**_pins("requirements.txt"), **_pins("requirements-dev.txt")}.items():
        assert name in constraints, f"{pin.name} is pinned but not in constraints.txt: regenerate it"
        assert _pinned_version(constraints[name]) == _pinned_version(pin), f"{pin} but constraints.txt says " \
                                                                            f"{constraints[name]}"


def test_stated_python_versions_agree():
    floor = PYPROJECT["project"]["requires-python"]
    assert floor.startswith(">=3.") and "," not in floor, "requires-python is a floor: >=3.N"
    major, minor = floor[2:].split(".")
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == f"{major}.{minor}"
    assert f"sys.version_info >= ({major}, {minor})" in (ROOT / "Makefile").read_text(encoding="utf-8")
