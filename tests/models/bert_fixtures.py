"""Tiny BERT checkpoints built inside the tests: a SentencePiece model trained on a few sentences and a
random ``BertConfig``, saved the way real checkpoints are, so the ``from_pretrained`` path is the real one."""

from __future__ import annotations

import json
from pathlib import Path

SENTENCES = ["안녕하세요 반갑습니다", "오늘 날씨 어때요", "점심 뭐 먹을까", "내일 비가 올까요", "우산 챙겨야 해",
             "배고파 죽겠어", "저녁 메뉴 추천해 줘", "주말에 눈 온대", "떡볶이 먹고 싶다", "날씨 맑아요"]
# KoBERT's id layout: [UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4
KOBERT_SPECIAL = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}


def train_spm(path: Path, vocab_size: int = 80, sentences: list[str] | None = None) -> Path:
    """The pretrain command's SentencePiece training, on one thread so the vocabulary is the same every run."""
    from training.pretrain import train_sentencepiece

    return train_sentencepiece((sentences or SENTENCES) * 10, path, vocab_size, threads=1)


def tiny_bert(folder: Path, kobert_style: bool = False, vocab_size: int = 80,
              sentences: list[str] | None = None) -> Path:
    """A random 1-layer BERT with our SentencePiece tokenizer, saved as a checkpoint folder.

    ``kobert_style``: the tokenizer files are KoBERT's (spiece.model and a tokenizer_config.json
    naming XLNetTokenizer), not a tokenizer.json."""
    from transformers import BertConfig, BertModel

    from chatbot.models.bert import spm_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    spm_file = train_spm(folder / "spiece.model", vocab_size, sentences)
    tokenizer = spm_tokenizer(spm_file)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id)
    BertModel(config).save_pretrained(folder)
    if kobert_style:
        (folder / "tokenizer_config.json").write_text(json.dumps(
            {"tokenizer_class": "XLNetTokenizer", "do_lower_case": False, "keep_accents": False,
             "remove_space": True, "bos_token": "[CLS]", "eos_token": "[SEP]", **KOBERT_SPECIAL}), encoding="utf-8")
    else:
        tokenizer.save_pretrained(folder)
    return folder
