"""BERT-family checkpoints through ``transformers``: loading (KoBERT included), our SentencePiece
tokenizers, and sentence pooling.

- ``load_tokenizer(path_or_id)`` and ``load_model(path_or_id, head)`` take a local checkpoint
  folder or a Hugging Face id that is already in the local cache. Nothing is downloaded unless
  ``CHATBOT_ALLOW_DOWNLOAD=1``; a missing checkpoint raises ``PretrainedUnavailable``, whose
  message says what to download and where to put it.
- **KoBERT** (``skt/kobert-base-v1``) ships a SentencePiece model with a ``tokenizer_config.json``
  naming ``XLNetTokenizer``, because SKT's ``KoBERTTokenizer`` subclasses it. Loaded as is, XLNet's
  conventions break a BERT model: padding on the left, ``X <sep> <cls>`` instead of
  ``[CLS] X [SEP]``, and a normaliser that decomposes Hangul when ``keep_accents`` is false. A BERT
  model with an XLNet tokenizer is therefore re-read as a SentencePiece tokenizer with BERT's
  layout (``spm_tokenizer``): same pieces and ids, ``[CLS] X [SEP]``, right padding, accents kept.
- ``spm_tokenizer(model_file)`` turns a SentencePiece model (ours, from ``chatbot pretrain``, or
  KoBERT's ``spiece.model``) into a ``transformers`` tokenizer whose ``save_pretrained`` folder
  ``AutoTokenizer`` reads back.

Tensor shapes: ``input_ids``/``attention_mask`` [B, L]; ``last_hidden_state`` [B, L, H];
``mean_pool`` -> [B, H].
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}
log = logging.getLogger(__name__)
HEADS = ("encoder", "sequence_classification", "masked_lm")
SPM_FILE = "spiece.model"
# Fine-tuning parameters shared by the BERT components (chatbot.models.trainer.TrainConfig names).
FINE_TUNING = {
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "warmup_steps": 100,
    "patience": 2,
    "checkpoint_every": 500,
    "time_budget_minutes": None,
    "device": "auto",
    "validation_split": 0.1,  # held out for early stopping (and a classifier's temperature)
    "progress": True,
    "checkpoint_dir": None,
    "resume": False,
    "int8": False,  # serve with int8 dynamic quantization of the Linear layers (CPU; chosen at load time)
}
TRAIN_CONFIG_KEYS = ("epochs", "batch_size", "learning_rate", "weight_decay", "warmup_steps", "patience",
                     "checkpoint_every", "time_budget_minutes", "device", "progress")


class PretrainedUnavailable(FileNotFoundError):
    """A checkpoint that is neither a local folder nor in the local Hugging Face cache."""


def downloads_allowed() -> bool:
    return os.environ.get("CHATBOT_ALLOW_DOWNLOAD", "").strip().lower() in ("1", "true", "yes")


def unavailable(path_or_id: str, reason: str) -> PretrainedUnavailable:
    """The error for a checkpoint we cannot read, with what to download and where to put it."""
    path = Path(path_or_id).expanduser()
    if path.is_absolute() or path_or_id.startswith((".", "~")) or path.exists():
        return PretrainedUnavailable(
            f"pretrained checkpoint folder '{path_or_id}' cannot be used ({reason}). It must hold a "
            "Hugging Face checkpoint: config.json, the weights (model.safetensors or pytorch_model.bin) and "
            "the tokenizer files (tokenizer.json, or spiece.model / vocab.txt with tokenizer_config.json). "
            "Make one with `python -m chatbot pretrain --data TEXT... --out DIR`, or copy a downloaded one there.")
    local = Path("models") / "pretrained" / path_or_id.split("/")[-1]
    return PretrainedUnavailable(
        f"pretrained checkpoint '{path_or_id}' is not on this machine ({reason}), and nothing is downloaded "
        f"while the bot runs. On a machine with internet run `hf download {path_or_id} --local-dir {local}` "
        f"(or `git clone https://huggingface.co/{path_or_id} {local}`), copy the folder {local} here, and pass "
        f"--pretrained {local}. To let this machine download it, set CHATBOT_ALLOW_DOWNLOAD=1.")


def _from_pretrained(loader: Any, path_or_id: str, **kwargs: Any) -> Any:
    """``loader.from_pretrained`` from local files only (unless downloads are allowed), with our error."""
    local_only = not downloads_allowed()
    try:
        return loader.from_pretrained(path_or_id, local_files_only=local_only, **kwargs)
    except (OSError, ValueError) as exc:  # transformers raises OSError for missing files, ValueError for bad ones
        raise unavailable(path_or_id, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc


def model_type(path_or_id: str) -> str:
    from transformers import AutoConfig

    return _from_pretrained(AutoConfig, path_or_id).model_type


def load_tokenizer(path_or_id: str) -> Any:
    """The checkpoint's tokenizer; KoBERT-style XLNet tokenizers of BERT models get BERT's layout."""
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, path_or_id)
    if type(tokenizer).__name__.startswith("XLNet") and model_type(path_or_id) == "bert":
        spm = _spm_file(path_or_id)
        special = {k: str(getattr(tokenizer, k)) for k in SPECIAL_TOKENS if getattr(tokenizer, k, None)}
        tokenizer = spm_tokenizer(spm, **special)
    return tokenizer


def _spm_file(path_or_id: str) -> Path:
    """The SentencePiece model of a local folder or cached checkpoint."""
    folder = Path(path_or_id).expanduser()
    if (folder / SPM_FILE).exists():
        return folder / SPM_FILE
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(path_or_id, SPM_FILE, local_files_only=not downloads_allowed()))
    except Exception as exc:  # the hub library raises several error types for a missing file
        raise unavailable(path_or_id, f"no {SPM_FILE}: {exc}") from exc


def spm_tokenizer(model_file: str | Path, **special_tokens: str) -> Any:
    """A BERT-layout tokenizer over a SentencePiece model: ``[CLS] X [SEP]``, right padding, case and
    accents kept (decomposing Hangul would turn syllables into unknown jamo)."""
    from transformers import AlbertTokenizer

    tokens: dict[str, Any] = {**SPECIAL_TOKENS, **special_tokens}
    with tempfile.TemporaryDirectory(prefix="spm-") as tmp:  # transformers reads spiece.model from a folder
        shutil.copy(model_file, Path(tmp) / SPM_FILE)
        tokenizer = AlbertTokenizer.from_pretrained(tmp, do_lower_case=False, keep_accents=True,
                                                    bos_token=tokens["cls_token"], eos_token=tokens["sep_token"],
                                                    local_files_only=True, **tokens)
    tokenizer.padding_side = "right"
    return tokenizer


def load_model(path_or_id: str, head: str = "encoder", **kwargs: Any) -> Any:
    """``AutoModel`` (``encoder``), ``AutoModelForSequenceClassification`` or ``AutoModelForMaskedLM``.

    ``kwargs`` go to ``from_pretrained`` (``num_labels=`` for a new classification head)."""
    import transformers

    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    loader = {"encoder": transformers.AutoModel,
              "sequence_classification": transformers.AutoModelForSequenceClassification,
              "masked_lm": transformers.AutoModelForMaskedLM}[head]
    with quiet_transformers():
        model, info = _from_pretrained(loader, path_or_id, output_loading_info=True, **kwargs)
    _report_loading(model, path_or_id, info)
    return model


def save_checkpoint(directory: str | Path, model: Any, tokenizer: Any = None) -> None:
    """``save_pretrained`` of the model (and tokenizer) into one Hugging Face folder, without progress bars."""
    with quiet_transformers():
        model.save_pretrained(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' weight progress bars and its table-shaped LOAD REPORT off for one load or save.

    Both go to stderr on every fine-tuning start, model save and served model load;
    ``_report_loading`` says what the report would, in one log line, and loudly only where it matters."""
    from transformers.utils import logging as hf_logging

    # A filter, not a higher level: transformers 5 runs (and logs) a tensor-parallel plan check
    # whenever that logger's own level is WARNING or above.
    report_logger = hf_logging.get_logger("transformers.modeling_utils")
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    report_logger.addFilter(_drop_load_report)  # type: ignore[arg-type]  # logging takes a callable filter; transformers' annotation names only Filter
    try:
        yield
    finally:
        report_logger.removeFilter(_drop_load_report)  # type: ignore[arg-type]  # logging takes a callable filter; transformers' annotation names only Filter
        if bars:
            hf_logging.enable_progress_bar()


def _drop_load_report(record: logging.LogRecord) -> bool:
    return "LOAD REPORT" not in record.getMessage()


def _report_loading(model: Any, path_or_id: str, info: dict[str, Any]) -> None:
    """Weights the checkpoint lacked: a new task head is expected (info); a missing encoder part is not (warning).

    The pooler counts as a head: our pretraining saves a masked-LM model, which has none, and
    sentence vectors are mean-pooled (``mean_pool``), so it is never used here."""
    missing = sorted(info.get("missing_keys") or [])
    base = "" if model.base_model is model else f"{model.base_model_prefix}."
    encoder = [k for k in missing if k.startswith(base) and not k[len(base):].startswith("pooler.")]
    new = [k for k in missing if k not in encoder]
    if encoder:
        log.warning("%s lacks %d encoder weights, which start untrained (%s%s): is it the right checkpoint?",
                    path_or_id, len(encoder), ", ".join(encoder[:5]), ", ..." if len(encoder) > 5 else "")
    if new:
        log.info("%s: new weights %s start untrained, as expected before fine-tuning", path_or_id, ", ".join(new))
    mismatched = info.get("mismatched_keys") or []
    if mismatched:
        log.warning("%s: weights of another shape, initialised anew: %s", path_or_id,
                    ", ".join(str(m[0] if isinstance(m, tuple | list) else m) for m in mismatched))


def mean_pool(last_hidden_state: Any, attention_mask: Any) -> Any:
    """Mean of the token vectors that are not padding: [B, L, H], [B, L] -> [B, H]."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def pad_ids(sequences: list[list[int]], pad_id: int):
    """Id lists -> ids [B, L] padded with ``pad_id`` to the longest (dynamic padding), attention mask [B, L]."""
    import torch

    longest = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for i, sequence in enumerate(sequences):
        ids[i, :len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[i, :len(sequence)] = 1
    return ids, mask


def for_serving(model: Any, int8: bool) -> Any:
    """The model in eval mode; with ``int8``, its Linear layers dynamically quantized to int8 weights.

    On 2 CPU cores this cut sentence-encoding latency by a third with the vectors unchanged to four
    decimals (``benchmarks/bert_latency.py``). Quantized models run on the CPU only; training never
    sees them (components quantize when a saved model directory is loaded). torch marks
    ``torch.ao.quantization`` deprecated in favour of the separate torchao package; it still works in
    the pinned torch 2.14 and needs nothing more, so it stays until torchao is worth a dependency."""
    model.eval()
    if not int8:
        return model
    import torch

    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def pad_encodings(encoded: list[dict], pad_id: int):
    """Tokenizer outputs (``input_ids``, optional ``token_type_ids``; pairs too) -> ids, attention mask and
    token type ids [N, L], padded to the longest."""
    ids, mask = pad_ids([e["input_ids"] for e in encoded], pad_id)
    types, _ = pad_ids([e.get("token_type_ids", [0] * len(e["input_ids"])) for e in encoded], 0)
    return ids, mask, types
