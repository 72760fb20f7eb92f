"""A real pretrained encoder behind a flag, and the same code offline (Section 10.6).

In the large profile, with a network, :func:`load_encoder` loads a small pretrained encoder
from the Hugging Face hub (by default ``distilbert-base-uncased``, 66 M parameters) and
:class:`EncoderClassifier` puts a classification head on its first ([CLS]) position;
:func:`companion.lora.apply_lora` then adapts its attention projections (``q_lin``,
``v_lin``). Downloads happen only with ``allow_download=True``; otherwise only the local
cache is read, and a missing model is a ``RuntimeError`` that says how to get it.

CI never downloads: :func:`tiny_distilbert` builds a randomly initialised ``DistilBertModel``
of the same class from a tiny config, and the tests run the whole path on it.

Validation policy (see :mod:`companion.validation`): ids are int64 tensors within the
vocabulary, the attention mask matches their shape; nothing is converted silently.
"""

from __future__ import annotations

import torch
from torch import nn

from companion.lora import apply_lora
from companion.validation import (
    check_bool,
    check_index_tensor,
    check_int,
    check_positive,
    check_positive_int,
    check_tensor,
    describe,
)

__all__ = [
    "DEFAULT_MODEL",
    "tiny_distilbert",
    "load_encoder",
    "EncoderClassifier",
    "lora_classifier",
    "train_steps",
    "topic_task",
    "fine_tune_topics",
]

# Two groups of topics of Python's own documentation (CPython's ``pydoc_data.topics``, PSF
# licence, offline): statements versus built-in types. A small, real text-classification task.
STATEMENT_TOPICS = (
    "assert",
    "assignment",
    "break",
    "continue",
    "del",
    "for",
    "global",
    "if",
    "import",
    "nonlocal",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
)
TYPE_TOPICS = (
    "dict",
    "floating",
    "integers",
    "lists",
    "numbers",
    "numeric-types",
    "sequence-types",
    "string-methods",
    "strings",
    "typesfunctions",
    "typesmapping",
    "typesmethods",
    "typesmodules",
    "typesseq",
    "typesseq-mutable",
    "truth",
)

DEFAULT_MODEL = "distilbert-base-uncased"


def _transformers():
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - transformers is a test extra here
        raise RuntimeError(
            "this needs Hugging Face transformers: pip install transformers (preinstalled in Colab)"
        ) from err
    return transformers


def tiny_distilbert(vocab_size: int = 100, dim: int = 32, n_layers: int = 2, seed: int = 0):
    """A randomly initialised ``transformers.DistilBertModel`` with a tiny config (no download)."""
    tf = _transformers()
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    dim = check_positive_int(dim, "dim")
    if dim % 4:
        raise ValueError(f"dim must be a multiple of the 4 attention heads, got {dim}")
    cfg = tf.DistilBertConfig(vocab_size=vocab_size, dim=dim, hidden_dim=4 * dim,
                           n_layers=check_positive_int(n_layers, "n_layers"), n_heads=4,
                           max_position_embeddings=64)  # fmt: skip
    torch.manual_seed(check_int(seed, "seed", min=0))
    return tf.DistilBertModel(cfg).eval()


def load_encoder(name: str = DEFAULT_MODEL, allow_download: bool = False):
    """``(encoder, tokenizer)`` for a pretrained DistilBERT-class model called ``name``.

    With ``allow_download=False`` (the default, and always in CI) only the local Hugging Face
    cache is read; a model that is not there raises ``RuntimeError`` with what to do.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a model name such as {DEFAULT_MODEL!r}, got "
                        f"{describe(name)}")  # fmt: skip
    allow_download = check_bool(allow_download, "allow_download")
    tf = _transformers()
    try:
        tok = tf.AutoTokenizer.from_pretrained(name, local_files_only=not allow_download)
        enc = tf.AutoModel.from_pretrained(name, local_files_only=not allow_download)
    except OSError as err:
        how = (
            "check the network connection and the model name"
            if allow_download
            else "it is not in the local cache and downloads are off; run with "
            "allow_download=True where a network is available (Colab, a GPU machine)"
        )
        raise RuntimeError(f"could not load pretrained model {name!r}: {how}") from err
    return enc.eval(), tok


class EncoderClassifier(nn.Module):
    """``encoder`` (a DistilBERT-style model returning ``last_hidden_state``) plus a linear head
    on the first position: ids (B, T) int64, mask (B, T) -> logits (B, num_classes)."""

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        if not isinstance(encoder, nn.Module) or not hasattr(encoder, "config"):
            raise TypeError(f"encoder must be a Hugging Face model, got {describe(encoder)}")
        self.encoder = encoder
        self.vocab_size = int(encoder.config.vocab_size)
        self.head = nn.Linear(
            int(encoder.config.dim), check_positive_int(num_classes, "num_classes")
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        ids = check_index_tensor(ids, "ids", self.vocab_size, shape=("B", "T"))
        if mask is None:
            mask = torch.ones_like(ids)
        check_tensor(mask, "mask", shape=tuple(ids.shape))
        if mask.is_floating_point():
            raise TypeError(f"mask must be an int or bool tensor of 0/1, got {mask.dtype}")
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, D)
        return self.head(hidden[:, 0])


def lora_classifier(encoder: nn.Module, num_classes: int, r: int = 8, alpha: float = 16.0):
    """An :class:`EncoderClassifier` whose encoder is frozen except LoRA updates of the
    attention's query and value projections (``q_lin``, ``v_lin``); the head trains too."""
    model = EncoderClassifier(encoder, num_classes)
    apply_lora(model.encoder, ("q_lin", "v_lin"), r=r, alpha=alpha)
    return model


def train_steps(model: nn.Module, ids, mask, labels, *, steps: int, lr: float = 1e-3,
                batch_size: int = 16, seed: int = 0) -> list[float]:  # fmt: skip
    """``steps`` AdamW steps of cross-entropy on random mini-batches; returns the losses."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {describe(model)}")
    ids = check_tensor(ids, "ids", dtype="int", ndim=2)
    mask = torch.ones_like(ids) if mask is None else mask
    labels = check_index_tensor(labels, "labels", shape=(len(ids),))
    steps, batch_size = (
        check_positive_int(steps, "steps"),
        check_positive_int(batch_size, "batch_size"),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=check_positive(lr, "lr"))
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min=0))
    losses = []
    dev = params[0].device  # batches follow the model (CPU, or a GPU in the large profile)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(ids), (min(batch_size, len(ids)),), generator=gen)
        logits = model(ids[idx].to(dev), mask[idx].to(dev))
        loss = nn.functional.cross_entropy(logits, labels[idx].to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def topic_task(min_words: int = 12, test_fraction: float = 0.3, seed: int = 0):
    """Paragraphs of Python's documentation labelled 0 (a statement) or 1 (a built-in type):
    ``(train_texts, train_labels, test_texts, test_labels)``, split by *topic* (no topic has
    paragraphs on both sides, and a paragraph that two topics share is kept out of the test
    set, so the test set holds no training text)."""
    from pydoc_data.topics import topics

    min_words = check_positive_int(min_words, "min_words")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min=0))
    split = {"train": ([], []), "test": ([], [])}
    for label, names in enumerate((STATEMENT_TOPICS, TYPE_TOPICS)):
        order = torch.randperm(len(names), generator=gen).tolist()
        n_test = max(1, round(check_positive(test_fraction, "test_fraction") * len(names)))
        for rank, i in enumerate(order):
            side = "test" if rank < n_test else "train"
            for para in topics[names[i]].split("\n\n"):
                text = " ".join(para.split())
                if len(text.split()) >= min_words:
                    split[side][0].append(text)
                    split[side][1].append(label)
    seen = set(split["train"][0])  # a paragraph shared by two topics stays out of the test set
    test = [(t, y) for t, y in zip(*split["test"], strict=True) if t not in seen]
    return (split["train"][0], torch.tensor(split["train"][1]),
            [t for t, _ in test], torch.tensor([y for _, y in test]))  # fmt: skip


def fine_tune_topics(encoder, tokenizer, task, *, r: int = 8, steps: int = 300,
                     max_length: int = 64, lr: float = 1e-3, seed: int = 0,
                     device: str | torch.device = "cpu") -> dict:  # fmt: skip
    """Fine-tune ``lora_classifier(encoder, 2, r)`` on ``task`` (from :func:`topic_task`) and
    return its test accuracy, the accuracy of the majority class, and the parameter counts.
    ``tokenizer(texts, padding=..., truncation=..., max_length=..., return_tensors="pt")``
    must return ``input_ids`` and ``attention_mask``, as Hugging Face tokenizers do. The
    model trains on ``device`` (for example ``companion.runtime.get_device()``)."""
    train_texts, train_y, test_texts, test_y = task
    enc = lambda texts: tokenizer(list(texts), padding="max_length", truncation=True,  # noqa: E731
                                  max_length=max_length, return_tensors="pt")  # fmt: skip
    train, test = enc(train_texts), enc(test_texts)
    torch.manual_seed(check_int(seed, "seed", min=0))
    model = lora_classifier(encoder, 2, r=r, alpha=2.0 * r).to(device)
    train_steps(model, train["input_ids"], train["attention_mask"], train_y, steps=steps, lr=lr,
                seed=seed)  # fmt: skip
    with torch.no_grad():
        pred = torch.cat([model(test["input_ids"][i : i + 64].to(device),
                                test["attention_mask"][i : i + 64].to(device)).argmax(1).cpu()
                          for i in range(0, len(test_y), 64)])  # fmt: skip
    majority = max(float((test_y == c).float().mean()) for c in (0, 1))
    return {
        "test accuracy": float((pred == test_y).float().mean()),
        "majority-class accuracy": majority,
        "trainable parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "all parameters": sum(p.numel() for p in model.parameters()),
    }
