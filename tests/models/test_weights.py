"""Network weights as safetensors: tied weights, the header, and model directories from before (``.pt``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.corpus import load_corpus  # noqa: E402
from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.models.weights import load_network, load_weights, save_weights  # noqa: E402
from chatbot.registry import create  # noqa: E402

PROBES = ["안녕하세요 반가워요", "내일 비 와요?", "점심 메뉴 추천해 줘", "양자역학 파동함수 설명"]
TINY = {
    "neural_intent_classifier": {"embedding_size": 8, "filters": 8, "kernel_sizes": [1, 2], "min_count": 1,
                                 "epochs": 2, "batch_size": 16, "device": "cpu", "progress": False},
    "seq2seq_responder": {"vocab_size": 80, "embedding_size": 16, "hidden_size": 16, "layers": 1, "epochs": 2,
                          "batch_size": 16, "device": "cpu", "progress": False, "seed": 0},
}
STEM = {"neural_intent_classifier": "classifier", "seq2seq_responder": "seq2seq"}


def test_tied_weights_and_the_header_round_trip(tmp_path):
    shared = torch.nn.Embedding(6, 3)
    model = torch.nn.ModuleDict({"encoder": shared, "decoder": shared, "out": torch.nn.Linear(3, 2)})
    save_weights(tmp_path / "net.safetensors", model.state_dict(), {"config": {"sizes": [1, 2]}, "name": "한결"})
    tensors, header = load_weights(tmp_path / "net.safetensors")
    assert header == {"config": {"sizes": [1, 2]}, "name": "한결"}
    assert tensors.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(tensors[key], value), key
    assert [p.name for p in tmp_path.iterdir()] == ["net.safetensors"]  # no temporary file left behind


def test_a_directory_without_weights_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="seq2seq.safetensors.*seq2seq.pt"):
        load_network(tmp_path, "seq2seq")


def _stages(name: str) -> list:
    return [create("normalizer"), create("tokenizer")] if name == "neural_intent_classifier" else []


def _replies(stages: list, component) -> list[tuple]:
    out = []
    for text in PROBES:
        message = Message(text=text)
        for stage in [*stages, component]:
            message = stage.process(message)
        out.append((message.intent, round(message.confidence, 6), message.reply))
    return out


@pytest.mark.parametrize("name", sorted(TINY))
def test_new_saves_are_safetensors_and_old_pt_directories_still_load(name, tiny_corpus, tmp_path):
    data = load_corpus([tiny_corpus("yaml")])
    stages, messages = _stages(name), data.messages
    for stage in stages:
        messages = stage.fit(TrainingData(messages)).process_batch(messages)
    component = create(name, TINY[name]).fit(TrainingData(messages, data.responses, data.descriptions))
    new = tmp_path / "new"
    component.save(new)
    assert (new / f"{STEM[name]}.safetensors").is_file()
    assert not list(new.rglob("*.pt"))
    expected = _replies(stages, component)
    assert _replies(stages, type(component).load(new, component.params)) == expected

    # The same directory as the version before wrote it: one torch.save pickle of header and state dict.
    old = tmp_path / "old"
    component.save(old)
    state_dict, header = load_weights(old / f"{STEM[name]}.safetensors")
    torch.save({**header, "state_dict": state_dict}, old / f"{STEM[name]}.pt")
    (old / f"{STEM[name]}.safetensors").unlink()
    assert _replies(stages, type(component).load(old, component.params)) == expected
