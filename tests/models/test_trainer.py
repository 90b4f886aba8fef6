"""The shared training loop on a tiny classifier: resume, time budget, early stopping."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from chatbot.models.trainer import CHECKPOINT, TrainConfig, train, warmup_linear_decay  # noqa: E402


def _data(seed=0, n=96):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def _collate(rows):
    return torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])


def _loss(model, batch, step):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def _config(**overrides):
    base = dict(epochs=4, batch_size=16, learning_rate=0.05, warmup_steps=2, patience=100,
                checkpoint_every=3, device="cpu", progress=False)
    return TrainConfig(**{**base, **overrides})


def test_training_lowers_the_validation_loss_and_keeps_the_best():
    model = _model()
    result = train(model, _data(0), _data(1), _collate, _loss, _config())
    assert result.steps == 4 * 6 and result.stopped_by == "epochs"
    assert result.history[-1]["validation_loss"] < result.history[0]["validation_loss"]
    assert result.best_validation_loss == min(h["validation_loss"] for h in result.history)
    assert result.examples_per_second > 0 and result.peak_gpu_memory_mib is None  # CPU: no GPU memory figure


def test_a_resumed_run_continues_from_the_same_step_and_ends_the_same(tmp_path):
    straight = _model()
    train(straight, _data(0), _data(1), _collate, _loss, _config())

    class Crash(Exception):
        pass

    def crashing_loss(model, batch, step):
        if step == 7:
            raise Crash
        return _loss(model, batch, step)

    interrupted = _model()
    with pytest.raises(Crash):
        train(interrupted, _data(0), _data(1), _collate, crashing_loss, _config(), out_dir=tmp_path)
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert saved["state"]["step"] == 6

    resumed = _model()
    result = train(resumed, _data(0), _data(1), _collate, _loss, _config(), out_dir=tmp_path, resume=True)
    assert result.steps == 24
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_time_budget_stops_cleanly_with_a_usable_model(tmp_path):
    model = _model()
    result = train(model, _data(0), _data(1), _collate, _loss, _config(epochs=1000, time_budget_minutes=1e-5),
                   out_dir=tmp_path)
    assert result.stopped_by == "time_budget" and result.steps < 1000 * 6
    assert result.best_validation_loss < float("inf")
    assert (tmp_path / CHECKPOINT).is_file()


def test_early_stopping_when_validation_stops_improving():
    model = _model()
    result = train(model, _data(0), _data(1), _collate, _loss, _config(epochs=200, patience=1, learning_rate=0.5))
    assert result.stopped_by == "early_stopping" and result.steps < 200 * 6


def test_resume_without_a_checkpoint_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="resume"):
        train(_model(), _data(0), _data(1), _collate, _loss, _config(), out_dir=tmp_path, resume=True)


def test_a_time_budget_stop_resumes_where_it_stopped_with_a_fresh_budget(tmp_path):
    first = train(_model(), _data(0), _data(1), _collate, _loss, _config(time_budget_minutes=1e-6), out_dir=tmp_path)
    assert first.stopped_by == "time_budget" and first.steps == 1 and first.resumed_from == 0
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    saved["state"]["elapsed"] = 3600.0  # an hour already spent in earlier runs
    torch.save(saved, tmp_path / CHECKPOINT)

    # The budget is this call's (the command's), not the total over resumes: it does not stop at once.
    resumed = train(_model(), _data(0), _data(1), _collate, _loss, _config(time_budget_minutes=5), out_dir=tmp_path,
                    resume=True)
    assert resumed.resumed_from == 1
    assert resumed.stopped_by == "epochs" and resumed.steps == 4 * 6
    assert resumed.seconds >= 3600  # the log's clock does run on over resumes
    assert resumed.device == "cpu" and resumed.precision == "fp32" and resumed.world_size == 1


def test_history_train_loss_is_the_mean_since_the_last_evaluation():
    losses = []

    def recording_loss(model, batch, step):
        loss = _loss(model, batch, step)
        if step >= 0:
            losses.append(float(loss.detach()))
        return loss

    result = train(_model(), _data(0), _data(1), _collate, recording_loss, _config(epochs=2))
    assert [h["step"] for h in result.history] == [6, 12]
    assert result.history[0]["train_loss"] == pytest.approx(sum(losses[:6]) / 6)
    assert result.history[1]["train_loss"] == pytest.approx(sum(losses[6:]) / 6)


def test_learning_rate_warms_up_then_decays_by_steps_or_by_the_budget_spent():
    by_steps = warmup_linear_decay(10, 110)
    assert by_steps(0) == pytest.approx(0.1) and by_steps(9) == pytest.approx(1.0)
    assert by_steps(60) == pytest.approx(0.5) and by_steps(110) == 0.0
    spent = {"share": 0.75}
    by_budget = warmup_linear_decay(10, 110, lambda: spent["share"])
    assert by_budget(5) == pytest.approx(0.6)  # warm-up ignores the clock
    assert by_budget(20) == pytest.approx(0.25)  # 3/4 of the budget gone: 1/4 of the rate left
    spent["share"] = 0.0
    assert by_budget(60) == pytest.approx(0.5)  # the steps are further along than the clock


def test_a_score_function_picks_the_best_step_and_drives_early_stopping():
    model = _model()
    calls = []

    def score(scored) -> float:  # best at the second evaluation, worse after: not what the loss says
        assert not scored.training  # scored in eval mode
        calls.append(len(calls))
        return [1.0, 5.0, 2.0, 1.0, 0.5, 0.1][min(len(calls) - 1, 5)]

    # learning rate 0: the loss never improves, so only the score can keep training going
    result = train(model, _data(0), _data(1), _collate, _loss, _config(epochs=20, patience=2, learning_rate=0.0),
                   score_fn=score)
    assert result.best_step == 2 * 6 and result.best_validation_score == 5.0
    assert result.stopped_by == "early_stopping" and len(result.history) == 4  # two evaluations without a gain
    assert [h["validation_score"] for h in result.history] == [1.0, 5.0, 2.0, 1.0]
    assert model.training  # the loop goes on training after a score


def test_with_a_score_a_falling_loss_still_counts_as_learning():
    # A lucky early score must not stop training while the validation loss still improves.
    model = _model()
    scores = iter([3.0] + [1.0] * 100)
    result = train(model, _data(0), _data(1), _collate, _loss, _config(epochs=6, patience=2, learning_rate=0.05),
                   score_fn=lambda scored: next(scores))
    losses = [h["validation_loss"] for h in result.history]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))  # this set-up keeps improving
    assert result.stopped_by == "epochs" and result.best_step == 6  # best by score, yet it ran on


def test_checkpoint_weights_are_safetensors_and_the_rest_loads_without_pickled_code(tmp_path):
    from chatbot.models.checkpoint import CHECKPOINT_WEIGHTS
    from chatbot.models.weights import load_weights

    train(_model(), _data(0), _data(1), _collate, _loss, _config(epochs=1), out_dir=tmp_path)
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)  # plain tensors and numbers only
    assert "model" not in state and state["state"]["step"] == 6
    tensors, header = load_weights(tmp_path / CHECKPOINT_WEIGHTS)
    assert {k.split(".", 1)[0] for k in tensors} == {"model", "best"} and header["token"] == state["weights_token"]


def test_a_checkpoint_torn_between_its_two_files_is_refused(tmp_path):
    train(_model(), _data(0), _data(1), _collate, _loss, _config(epochs=1), out_dir=tmp_path)
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    state["weights_token"] = "another write"
    torch.save(state, tmp_path / CHECKPOINT)
    with pytest.raises(ValueError, match="cut off"):
        train(_model(), _data(0), _data(1), _collate, _loss, _config(), out_dir=tmp_path, resume=True)
