"""The settings table: README agrees with ``webui/settings.py``; environment, precedence and old names."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from webui import create_app, settings
from webui.settings import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `([A-Z_]+)` \| (.*?) \| (.*?) \|")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Only the variables a test sets: none of the shell's, and every old name warns again."""
    for setting in SETTINGS:
        for name in (setting.env_name, *setting.old_names):
            if name:
                monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(settings, "_warned", set())


def readme_rows() -> dict[str, tuple[str, str]]:
    """The README settings table: name -> (environment column, default column)."""
    section = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n#", 1)[0]
    return {m.group(1): (m.group(2), m.group(3)) for m in map(ROW.match, section.splitlines()) if m}


def make(tmp_path, **config):
    return create_app({"TESTING": True, "BOT": object(), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/s.db",
                       **config})


def test_the_readme_table_names_every_setting_and_nothing_else():
    rows = readme_rows()
    assert set(rows) == {s.name for s in SETTINGS}, "regenerate README's table with webui.settings.markdown_table()"


def test_the_readme_table_shows_each_settings_environment_name_and_default():
    expected = {line.split(" | ")[0]: line for line in settings.markdown_table().splitlines()[2:]}
    written = {line.split(" | ")[0]: line for line in README.read_text(encoding="utf-8").splitlines()
               if line.startswith("| `") and line.split(" | ")[0] in expected}
    assert written == expected, "regenerate README's table with webui.settings.markdown_table()"


def test_every_setting_has_a_default_in_the_app(tmp_path):
    app = make(tmp_path)
    assert {s.name for s in SETTINGS} <= set(app.config)
    assert app.config["UPLOAD_FOLDER"] == f"{app.instance_path}/uploads"  # resolved in the instance folder
    assert app.config["MODEL_CHECK_SECONDS"] == 2.0 and app.config["RATELIMIT_ENABLED"] is True


def test_the_environment_sets_a_setting_with_its_type(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATBOT_MODEL_CHECK_SECONDS", "0")
    monkeypatch.setenv("CHATBOT_RATELIMIT_ENABLED", "off")
    monkeypatch.setenv("CHATBOT_TRAINER_TRAIN_COMMAND", '["python", "-m", "chatbot", "train"]')
    monkeypatch.setenv("CHATBOT_SECRET_KEY", "1234567890123456")  # JSON would make it a number
    app = make(tmp_path)
    assert app.config["MODEL_CHECK_SECONDS"] == 0.0
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["TRAINER_TRAIN_COMMAND"] == ["python", "-m", "chatbot", "train"]
    assert app.config["SECRET_KEY"] == "1234567890123456"


def test_a_value_of_the_wrong_type_stops_the_start_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATBOT_HISTORY_MESSAGES", "many")
    with pytest.raises(ValueError, match="CHATBOT_HISTORY_MESSAGES='many' is not a whole number"):
        make(tmp_path)


def test_the_config_given_to_create_app_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATBOT_HISTORY_MESSAGES", "3")
    assert make(tmp_path).config["HISTORY_MESSAGES"] == 3
    assert make(tmp_path, HISTORY_MESSAGES=7).config["HISTORY_MESSAGES"] == 7


def test_an_old_name_still_works_with_one_warning_naming_the_new_one(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MODEL_CHECK_SECONDS", "0")
    monkeypatch.setenv("CHATBOT_MODEL", "/srv/models/default")
    with caplog.at_level(logging.WARNING, logger="webui.settings"):
        first, second = make(tmp_path), make(tmp_path)
    assert first.config["MODEL_CHECK_SECONDS"] == second.config["MODEL_CHECK_SECONDS"] == 0.0
    assert settings.served_model_dirs()["MODEL_DIR"] == "/srv/models/default"
    assert "MODEL" not in first.config  # CHATBOT_MODEL is not read as a setting named MODEL
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert sum("MODEL_CHECK_SECONDS is deprecated" in w and "CHATBOT_MODEL_CHECK_SECONDS" in w for w in warnings) == 1


def test_the_new_name_wins_over_the_old_one(tmp_path, monkeypatch):
    monkeypatch.setenv("UPLOAD_FOLDER", "/old")
    monkeypatch.setenv("CHATBOT_UPLOAD_FOLDER", "/new")
    assert make(tmp_path).config["UPLOAD_FOLDER"] == "/new"


def test_database_url_is_accepted_below_its_chatbot_name(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/url.db")
    with caplog.at_level(logging.WARNING, logger="webui.settings"):
        app = create_app({"TESTING": True, "BOT": object()})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/url.db"
    assert "deprecated" not in caplog.text  # the platforms' own name, not an old one of ours
    monkeypatch.setenv("CHATBOT_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/own.db")
    assert create_app({"TESTING": True, "BOT": object()}).config["SQLALCHEMY_DATABASE_URI"].endswith("own.db")


def test_an_unknown_chatbot_variable_is_reported_and_not_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CHATBOT_MODEL_CHECK_SECOND", "5")  # a typo
    monkeypatch.setenv("CHATBOT_ALLOW_DOWNLOAD", "1")  # the library's, not the app's: no warning
    with caplog.at_level(logging.WARNING, logger="webui.settings"):
        app = make(tmp_path)
    assert "MODEL_CHECK_SECOND" not in app.config and "ALLOW_DOWNLOAD" not in app.config
    assert "CHATBOT_MODEL_CHECK_SECOND is not a setting" in caplog.text
    assert "CHATBOT_ALLOW_DOWNLOAD" not in caplog.text


def test_only_settings_py_reads_the_apps_environment():
    webui = Path(settings.__file__).parent
    readers = {p.relative_to(webui).as_posix() for p in webui.rglob("*.py")
               if re.search(r"os\.environ(?!\))|os\.getenv", p.read_text(encoding="utf-8"))}
    # gunicorn_conf.py: gunicorn's own settings; trainer/processes.py hands the environment to the training process
    assert readers <= {"settings.py", "gunicorn_conf.py", "trainer/processes.py"}, readers


def test_one_shared_folder_sets_every_folder_machines_must_share(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    monkeypatch.setenv("CHATBOT_SHARED_DIR", str(shared))
    app = make(tmp_path)
    assert app.config["TRAINER_DIR"] == str(shared / "trainer")
    assert app.config["UPLOAD_FOLDER"] == str(shared / "uploads")
    assert settings.served_model_dirs() == {"MODEL_DIR": str(shared / "models" / "default"),
                                            "VISION_MODEL_DIR": str(shared / "models" / "vision")}
    # a folder set on its own wins over the shared one
    monkeypatch.setenv("CHATBOT_TRAINER_DIR", str(tmp_path / "own"))
    monkeypatch.setenv("CHATBOT_MODEL_DIR", str(tmp_path / "model"))
    assert make(tmp_path).config["TRAINER_DIR"] == str(tmp_path / "own")
    assert settings.served_model_dirs()["MODEL_DIR"] == str(tmp_path / "model")


def test_without_a_shared_folder_each_machine_keeps_its_own(tmp_path):
    app = make(tmp_path)
    assert app.config["TRAINER_DIR"] == str(Path(app.instance_path) / "trainer")
    assert app.config["UPLOAD_FOLDER"] == str(Path(app.instance_path) / "uploads")
    assert settings.served_model_dirs() == {"MODEL_DIR": settings.SERVED_MODEL_DIR,
                                            "VISION_MODEL_DIR": settings.SERVED_VISION_MODEL_DIR}
