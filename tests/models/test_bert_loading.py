"""Loading BERT checkpoints: our SentencePiece tokenizer, KoBERT's XLNet quirk, and the offline error."""

import pytest

pytest.importorskip("transformers")

from chatbot.models.bert import PretrainedUnavailable, load_model, load_tokenizer, mean_pool, save_checkpoint  # noqa: E402
from tests.models.bert_fixtures import tiny_bert  # noqa: E402


def test_our_checkpoint_round_trips_through_auto_classes(tmp_path):
    folder = tiny_bert(tmp_path / "ours")
    tokenizer = load_tokenizer(str(folder))
    encoded = tokenizer(["오늘 날씨 어때요", "점심"], padding=True)
    ids = encoded["input_ids"]
    assert ids[0][0] == tokenizer.cls_token_id and ids[0][-1] == tokenizer.sep_token_id
    assert ids[1][-1] == tokenizer.pad_token_id and encoded["attention_mask"][1][-1] == 0  # right padding
    assert tokenizer.unk_token_id not in ids[0]  # Hangul kept whole, not decomposed into jamo
    import torch

    model = load_model(str(folder))
    batch = tokenizer(["오늘 날씨 어때요", "점심"], padding=True, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    pooled = mean_pool(hidden, batch["attention_mask"])
    assert pooled.shape == (2, model.config.hidden_size)
    single = tokenizer(["점심"], return_tensors="pt")
    alone = mean_pool(model(**single).last_hidden_state, single["attention_mask"])
    assert torch.allclose(pooled[1], alone[0], atol=1e-5)  # padding does not change the sentence vector


def test_kobert_style_xlnet_tokenizer_gets_bert_layout(tmp_path):
    folder = tiny_bert(tmp_path / "kobert", kobert_style=True)
    tokenizer = load_tokenizer(str(folder))
    encoded = tokenizer(["오늘 날씨", "점심 뭐 먹을까 내일"], padding=True)
    first = encoded["input_ids"][0]
    assert (tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.cls_token_id) == (0, 1, 2)  # KoBERT's ids
    assert first[0] == 2 and 3 in first and first[-1] == 1  # [CLS] X [SEP] [PAD]..., not X <sep> <cls>
    assert 0 not in encoded["input_ids"][1]
    assert tokenizer.padding_side == "right"


def test_missing_checkpoints_say_what_to_download(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATBOT_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(PretrainedUnavailable, match="hf download skt/kobert-base-v1"):
        load_tokenizer("skt/kobert-base-v1")
    with pytest.raises(PretrainedUnavailable, match="folder"):
        load_model(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="head must be"):
        load_model(str(tmp_path), head="decoder")


def test_a_new_head_is_logged_in_one_line_without_transformers_report(tmp_path, capfd, caplog):
    """A classification head on an encoder checkpoint is expected: one info line, no table or progress bars."""
    folder = tiny_bert(tmp_path / "ours")
    capfd.readouterr()
    with caplog.at_level("INFO", logger="chatbot.models.bert"):
        model = load_model(str(folder), "sequence_classification", num_labels=3)
        save_checkpoint(tmp_path / "saved", model)
    err = capfd.readouterr().err
    assert "LOAD REPORT" not in err and "Loading weights" not in err and "Writing model" not in err
    lines = [r for r in caplog.records if r.name == "chatbot.models.bert"]
    assert [r.levelname for r in lines] == ["INFO"]
    assert "classifier.weight" in lines[0].getMessage() and "expected before fine-tuning" in lines[0].getMessage()
    assert (tmp_path / "saved" / "config.json").is_file()


def test_missing_encoder_weights_are_a_warning(tmp_path, caplog):
    """A checkpoint that lacks part of the encoder itself is named loudly, not hidden with the head."""
    import safetensors.torch as st

    folder = tiny_bert(tmp_path / "ours")
    weights = st.load_file(folder / "model.safetensors")
    dropped = [k for k in weights if ".layer.0.attention.self.query." in k]
    assert dropped
    st.save_file({k: v for k, v in weights.items() if k not in dropped}, folder / "model.safetensors",
                 metadata={"format": "pt"})
    with caplog.at_level("INFO", logger="chatbot.models.bert"):
        load_model(str(folder), "sequence_classification", num_labels=2)
    warnings = [r.getMessage() for r in caplog.records if r.name == "chatbot.models.bert" and r.levelname == "WARNING"]
    assert len(warnings) == 1 and "lacks 2 encoder weights" in warnings[0] and "right checkpoint" in warnings[0]
