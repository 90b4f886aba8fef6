"""``train`` with a neural component: flags, checkpoints and ``--resume``, ``--time-budget``, the loss curve."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")

from chatbot.bot import Bot  # noqa: E402
from chatbot.cli import main  # noqa: E402
from training.plots import loss_curve_png  # noqa: E402
from training.train import Budget, train_model, wants_refit, with_checkpoints  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEQ2SEQ = "04_seq2seq_responder"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def seq2seq_params(model: Path) -> dict:
    pipeline = yaml.safe_load((model / "pipeline.yaml").read_text(encoding="utf-8"))["pipeline"]
    return next(s["params"] for s in pipeline if s["name"] == "seq2seq_responder")


def test_flags_reach_the_components_and_the_model_directory(tiny_corpus, neural_config, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out), "--config", str(neural_config()),
                 "--device", "cpu", "--seed", "7", "--time-budget", "30"]) == 0
    summary = json.loads(capsys.readouterr().out)

    params = seq2seq_params(out)
    assert params["device"] == "cpu" and params["seed"] == 7
    assert 0 < params["time_budget_minutes"] <= 30  # its share of the command's budget
    assert params["checkpoint_dir"] == f"checkpoints/{SEQ2SEQ}"  # relative to the model: it can be moved
    classifier = yaml.safe_load((out / "pipeline.yaml").read_text(encoding="utf-8"))["pipeline"][3]
    assert classifier["params"]["seed"] == 7  # every component that takes a seed
    assert "device" not in classifier["params"]  # ... but only those that take the parameter

    meta = read_json(out / "meta.json")
    assert meta["overrides"] == {"device": "cpu", "seed": 7, "time_budget_minutes": 30.0}
    assert meta["world_size"] == 1
    assert meta["refit"] is False and meta["fit_rows"] < meta["data"]["rows"]  # the validation fit is the model
    log = meta["neural"][SEQ2SEQ]
    assert log["stopped_by"] == "epochs" and log["device"] == "cpu" and log["resumed_from"] == 0
    assert log["steps"] > 0 and 0 < log["best_step"] <= log["steps"] and log["best_validation_loss"] > 0
    assert summary["neural"] == meta["neural"] and summary["loss_curve"] == "loss_curve.png"

    png = (out / "loss_curve.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert (out / "checkpoints" / SEQ2SEQ / "checkpoint.pt").is_file()  # carried through the atomic swap
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]
    assert Bot.load(out).reply("매운 음식 추천해 줘").text


def stopped_by_the_budget(corpus: Path, config: Path, out: Path) -> dict:
    """A run whose budget is spent before the network starts: it trains one step and stops."""
    return train_model([corpus], out, config, overrides={"time_budget_minutes": 1e-4})


def test_time_budget_stops_early_with_a_usable_model(tiny_corpus, neural_config, tmp_path):
    started = time.monotonic()
    meta = stopped_by_the_budget(tiny_corpus("yaml"), neural_config(epochs=3), tmp_path / "model")
    assert time.monotonic() - started < 60
    log = meta["neural"][SEQ2SEQ]
    assert log["stopped_by"] == "time_budget"
    assert log["steps"] == 1  # checked after every step: it stops at the first
    assert log["best_validation_loss"] < float("inf")
    assert read_json(tmp_path / "model" / "meta.json")["neural"][SEQ2SEQ]["stopped_by"] == "time_budget"
    assert Bot.load(tmp_path / "model").reply("잘 지냈어요?").text


def test_resume_continues_from_the_saved_step(tiny_corpus, neural_config, tmp_path):
    corpus, config, model = tiny_corpus("yaml"), neural_config(epochs=3), tmp_path / "model"
    first = stopped_by_the_budget(corpus, config, model)["neural"][SEQ2SEQ]
    meta = train_model([corpus], model, config, overrides={"resume": True})
    log = meta["neural"][SEQ2SEQ]
    assert log["resumed_from"] == first["steps"] == 1  # where the budget stopped it, not 0
    assert log["stopped_by"] == "epochs" and log["steps"] > 1
    history = read_json(model / "components" / SEQ2SEQ / "training.json")["history"]
    assert history and all(row["step"] > 1 for row in history)
    assert seq2seq_params(model)["resume"] is True
    assert Bot.load(model).reply("비 오면 뭐 하지?").text


def test_refit_true_fits_the_network_twice_with_separate_checkpoints(tiny_corpus, neural_config, tmp_path):
    out = tmp_path / "model"
    meta = train_model([tiny_corpus("yaml")], out, neural_config(training={"refit": True}),
                       overrides={"time_budget_minutes": 30})
    assert meta["refit"] is True and meta["fit_rows"] == meta["data"]["rows"]
    assert (out / "checkpoints" / "validation" / SEQ2SEQ / "checkpoint.pt").is_file()
    assert (out / "checkpoints" / SEQ2SEQ / "checkpoint.pt").is_file()
    assert seq2seq_params(out)["time_budget_minutes"] > 30 * 0.9 / 2  # the second of two shares: what was left


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_corpus, neural_config, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out), "--config", str(neural_config()),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "checkpoint" in err and "Traceback" not in err
    assert not out.exists()


def test_resume_on_a_pipeline_without_a_network_is_refused(tiny_corpus, tmp_path):
    with pytest.raises(ValueError, match="no neural component"):
        train_model([tiny_corpus("yaml")], tmp_path / "m", overrides={"resume": True})


@pytest.mark.parametrize("budget", ["0", "-1", "soon"])
def test_time_budget_must_be_positive_minutes(budget, tiny_corpus, tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(tmp_path / "m"), "--time-budget", budget])
    assert excinfo.value.code == 2
    assert "--time-budget" in capsys.readouterr().err


def test_refit_option():
    assert wants_refit("auto", neural=True) is False
    assert wants_refit("auto", neural=False) is True
    assert wants_refit(True, neural=True) is True  # YAML reads `refit: true` as a bool
    assert wants_refit("false", neural=False) is False
    with pytest.raises(ValueError, match="refit"):
        wants_refit("sometimes", neural=True)


def test_checkpoint_places_and_resume_only_where_a_checkpoint_exists(tmp_path):
    steps = [{"name": "normalizer", "params": {}}, {"name": "seq2seq_responder", "params": {}},
             {"name": "hybrid_responder", "params": {}}]
    (tmp_path / "checkpoints" / "01_seq2seq_responder").mkdir(parents=True)
    (tmp_path / "checkpoints" / "01_seq2seq_responder" / "checkpoint.pt").write_bytes(b"x")
    placed = with_checkpoints(steps, [1, 2], tmp_path, None, resume=True)
    assert "checkpoint_dir" not in placed[0]["params"]
    assert placed[1]["params"] == {"checkpoint_dir": str(tmp_path.resolve() / "checkpoints" / "01_seq2seq_responder"),
                                   "resume": True}
    assert placed[2]["params"]["resume"] is False  # nothing saved for it yet: it starts afresh
    validation = with_checkpoints(steps, [1], tmp_path, "validation", resume=False)
    assert validation[1]["params"]["checkpoint_dir"].endswith("checkpoints/validation/01_seq2seq_responder")
    assert steps[1]["params"] == {}  # the caller's steps are not modified


def test_budget_shares_what_is_left_among_the_fits_to_come():
    budget = Budget(10.0, fits=2)
    first = budget.share(None)
    assert 4.4 < first <= 4.5  # (10 minutes less a 1-minute reserve) / 2
    assert budget.share(2.0) == 2.0  # a component's own, smaller budget wins
    assert Budget(None, fits=1).share(3.0) == 3.0  # no --time-budget: the component's own
    spent = Budget(1e-9, fits=1)
    assert spent.share(None) > 0  # never zero, which would mean "no budget"


def test_loss_curve_png_has_a_panel_per_network(tmp_path):
    rows = [{"step": s, "train_loss": 3.0 / s, "validation_loss": 3.5 / s + 0.01 * s, "seconds": s}
            for s in range(1, 8)]
    for history in (rows, {"04_seq2seq_responder": rows, "05_neural_intent_classifier": rows[:3]}):
        path = loss_curve_png(history, tmp_path / "curve.png", title="curves")
        png = path.read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 1000


def test_device_cuda_without_a_gpu_is_a_clear_error(tiny_corpus, neural_config, tmp_path, capsys):
    if pytest.importorskip("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(tmp_path / "m"),
                 "--config", str(neural_config()), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "cuda" in err and "--device cpu" in err and "Traceback" not in err
