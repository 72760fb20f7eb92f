"""The data behind Chapter 1, "A short history of large models".

* :data:`TIMELINE` -- landmark events, each with the year of its first public appearance
  (the preprint where that came first), the people, the citation key in
  ``book/references.bib`` and the primary source.
* :data:`MODELS` -- landmark models, each with a *builder* that constructs the companion's own
  definition of it, and the parameter count its authors published.
* :func:`count_on_meta` -- build a model on PyTorch's ``meta`` device (shapes only, no
  memory) and count its parameters; GPT-3's 175 billion cost nothing to count.
* :func:`training_flops` -- training compute by the 6·N·D rule (Chapter 2, Eq. ``ch02-compute``).

Input policy (:mod:`companion.validation`): counts and FLOPs are finite positive real numbers
(int, float, NumPy scalars or 0-d tensors); ``bool``, strings, NaN, infinity, zero and
negative values are refused with an error that names the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from companion.architectures import alexnet, dqn, resnet50, resnet152, vgg16
from companion.bert import BERT_BASE, BERT_LARGE, Bert
from companion.parameters import count_on_meta
from companion.transformer import GPT, GPT2_SMALL, GPT2_XL, GPT3_175B
from companion.validation import check_positive, describe

__all__ = ["Event", "TIMELINE", "ModelEntry", "MODELS", "count_on_meta", "training_flops",
           "flops_to_pf_days", "parameter_table", "PF_DAY", "TIMELINE_LABELS"]  # fmt: skip


@dataclass(frozen=True)
class Event:
    year: int  # first public appearance (preprint if earlier than the venue)
    event: str
    people: str
    key: str  # citation key in book/references.bib
    venue: str  # the primary source
    month: int | None = None  # month of first public appearance, where the year is too coarse

    @property
    def date(self) -> str:
        """``"Nov 2022"``, or the year alone where no month is recorded."""
        return f"{_MONTHS[self.month - 1]} {self.year}" if self.month else str(self.year)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


TIMELINE: tuple[Event, ...] = (
    Event(1943, "Threshold-logic model of the neuron", "McCulloch & Pitts",
          "mcculloch1943logical", "Bull. Math. Biophysics 5(4):115-133"),
    Event(1958, "The perceptron, a neuron that learns its weights", "Rosenblatt",
          "rosenblatt1958perceptron", "Psychological Review 65(6):386-408"),
    Event(1969, "Limits of single-layer perceptrons", "Minsky & Papert",
          "minsky1969perceptrons", "Perceptrons, MIT Press"),
    Event(1986, "Backpropagation trains hidden layers", "Rumelhart, Hinton & Williams",
          "rumelhart1986learning", "Nature 323(6088):533-536"),
    Event(1989, "Convolutional network trained by backprop reads zip codes", "LeCun et al.",
          "lecun1989backpropagation", "Neural Computation 1(4):541-551"),
    Event(1997, "Long short-term memory (LSTM)", "Hochreiter & Schmidhuber",
          "hochreiter1997long", "Neural Computation 9(8):1735-1780"),
    Event(1998, "LeNet-5 and gradient-based document recognition", "LeCun et al.",
          "lecun1998gradient", "Proc. IEEE 86(11):2278-2324"),
    Event(2006, "Deep belief nets: greedy layer-wise pre-training", "Hinton, Osindero & Teh",
          "hinton2006fast", "Neural Computation 18(7):1527-1554"),
    Event(2009, "ImageNet data set", "Deng et al.", "deng2009imagenet", "CVPR 2009:248-255"),
    Event(2012, "AlexNet wins ImageNet (ILSVRC-2012)", "Krizhevsky, Sutskever & Hinton",
          "krizhevsky2012imagenet", "NIPS 25:1097-1105"),
    Event(2013, "DQN learns Atari games from pixels (DeepMind Technologies)", "Mnih et al.",
          "mnih2013playing", "arXiv:1312.5602, NIPS Deep Learning Workshop", 12),
    Event(2014, "VGG: very deep 3x3 convolutional networks", "Simonyan & Zisserman",
          "simonyan2015very", "arXiv:1409.1556; ICLR 2015", 9),
    Event(2014, "Attention for neural machine translation", "Bahdanau, Cho & Bengio",
          "bahdanau2015neural", "arXiv:1409.0473; ICLR 2015", 9),
    Event(2015, "Human-level Atari control (Google DeepMind)", "Mnih et al.",
          "mnih2015human", "Nature 518(7540):529-533", 2),
    Event(2015, "Pre-train a language model, then fine-tune it on the task", "Dai & Le",
          "dai2015semi", "arXiv:1511.01432; NIPS 28:3079-3087", 11),
    Event(2015, "ResNet: residual learning (Microsoft Research)", "He, Zhang, Ren & Sun",
          "he2016deep", "arXiv:1512.03385; CVPR 2016:770-778", 12),
    Event(2016, "AlphaGo", "Silver et al.", "silver2016mastering", "Nature 529(7587):484-489", 1),
    Event(2017, "Sparsely-gated mixture-of-experts layer", "Shazeer et al.",
          "shazeer2017outrageously", "arXiv:1701.06538; ICLR 2017", 1),
    Event(2017, "The Transformer", "Vaswani et al.", "vaswani2017attention",
          "arXiv:1706.03762; NIPS 30:5998-6008", 6),
    Event(2018, "ULMFiT: fine-tuning a pre-trained LSTM language model", "Howard & Ruder",
          "howard2018universal", "arXiv:1801.06146; ACL 2018:328-339", 1),
    Event(2018, "GPT: generative pre-training of a Transformer", "Radford et al.",
          "radford2018improving", "OpenAI report", 6),
    Event(2018, "BERT", "Devlin, Chang, Lee & Toutanova", "devlin2019bert",
          "arXiv:1810.04805; NAACL-HLT 2019:4171-4186", 10),
    Event(2019, "GPT-2", "Radford et al.", "radford2019language", "OpenAI report", 2),
    Event(2020, "Scaling laws for language models", "Kaplan et al.", "kaplan2020scaling",
          "arXiv:2001.08361", 1),
    Event(2020, "GPT-3 and in-context learning", "Brown et al.", "brown2020language",
          "arXiv:2005.14165; NeurIPS 33:1877-1901", 5),
    Event(2021, "Switch Transformer: mixture of experts at a trillion parameters",
          "Fedus, Zoph & Shazeer", "fedus2022switch", "arXiv:2101.03961; JMLR 23(120):1-39", 1),
    Event(2022, "Chinchilla: compute-optimal training", "Hoffmann et al.",
          "hoffmann2022training", "arXiv:2203.15556; NeurIPS 2022", 3),
    Event(2022, "InstructGPT: following instructions with human feedback", "Ouyang et al.",
          "ouyang2022training", "arXiv:2203.02155; NeurIPS 2022", 3),
    Event(2022, "ChatGPT released to the public", "OpenAI", "openai2022chatgpt",
          "OpenAI blog, 30 Nov 2022", 11),
    Event(2023, "LLaMA: open-weight models trained on public data", "Touvron et al.",
          "touvron2023llama", "arXiv:2302.13971", 2),
    Event(2023, "GPT-4", "OpenAI", "openai2023gpt4", "arXiv:2303.08774", 3),
    Event(2023, "Llama 2: open weights licensed for commercial use", "Touvron et al.",
          "touvron2023llama2", "arXiv:2307.09288", 7),
    Event(2023, "Qwen: open-weight models from Alibaba", "Bai et al.", "bai2023qwen",
          "arXiv:2309.16609", 9),
    Event(2023, "Mistral 7B", "Jiang et al.", "jiang2023mistral", "arXiv:2310.06825", 10),
    Event(2023, "Mixtral 8x7B: an open-weight mixture of experts", "Jiang et al.",
          "jiang2024mixtral", "released Dec 2023; arXiv:2401.04088", 12),
    Event(2024, "OpenAI o1: a model trained to reason before it answers", "OpenAI",
          "openai2024o1", "OpenAI blog, 12 Sep 2024", 9),
    Event(2024, "DeepSeek-V3: an open-weight mixture of experts", "DeepSeek-AI",
          "deepseekai2024v3", "arXiv:2412.19437", 12),
    Event(2025, "DeepSeek-R1: reasoning learned by reinforcement learning, open weights",
          "DeepSeek-AI", "deepseekai2025r1", "arXiv:2501.12948; Nature 645:633-638", 1),
)  # fmt: skip


@dataclass(frozen=True)
class ModelEntry:
    name: str
    year: int  # first public appearance
    builder: Callable[[], nn.Module]  # zero-argument; returns the companion's model
    published: float | None  # parameter count stated by the authors (None: not stated)
    key: str  # citation key of the source of ``published``
    note: str  # where the published figure is, and what it counts


MODELS: tuple[ModelEntry, ...] = (
    ModelEntry("AlexNet", 2012, alexnet, 60e6, "krizhevsky2012imagenet",
               "abstract: '60 million parameters'; original two-GPU grouped network"),
    ModelEntry("VGG-16", 2014, vgg16, 138e6, "simonyan2015very", "Table 2, configuration D"),
    ModelEntry("ResNet-50", 2015, resnet50, None, "he2016deep",
               "no count published (Table 1 gives 3.8e9 FLOPs)"),
    ModelEntry("ResNet-152", 2015, resnet152, None, "he2016deep",
               "no count published (Table 1 gives 11.3e9 FLOPs)"),
    ModelEntry("DQN", 2015, dqn, None, "mnih2015human",
               "no count published; Nature 2015 network with 18 actions"),
    ModelEntry("BERT-base", 2018, partial(Bert, BERT_BASE), 110e6, "devlin2019bert",
               "section 3: '110M'; encoder + pooler, no pre-training heads"),
    ModelEntry("BERT-large", 2018, partial(Bert, BERT_LARGE), 340e6, "devlin2019bert",
               "section 3: '340M'; encoder + pooler, no pre-training heads"),
    ModelEntry("GPT-2 small", 2019, partial(GPT, GPT2_SMALL), 117e6, "radford2019language",
               "Table 2: '117M', revised to 124M by OpenAI's repository"),
    ModelEntry("GPT-2 XL", 2019, partial(GPT, GPT2_XL), 1542e6, "radford2019language",
               "Table 2: '1542M', revised to 1558M by OpenAI's repository"),
    ModelEntry("GPT-3", 2020, partial(GPT, GPT3_175B), 175e9, "brown2020language",
               "Table 2.1: '175.0B'; Table D.1 lists 174,600M"),
)  # fmt: skip


def training_flops(n_params: float, n_tokens: float) -> float:
    """Training compute of a dense Transformer by the rule C ≈ 6·N·D (Chapter 1, eq. ``6nd``).

    Each parameter costs about 2 FLOPs per token in the forward pass (a multiply and an add)
    and about 4 in the backward pass (gradients with respect to activations and to weights),
    hence 6·N per token and 6·N·D for D training tokens (Kaplan et al. 2020, section 2.1;
    Brown et al. 2020, Appendix D). Attention's own cost, about ``6·n_layer·T·d`` per token
    at context length T, is left out; it is a few per cent for GPT-3.

    >>> f"{training_flops(175e9, 300e9):.3e}"
    '3.150e+23'
    """
    return 6.0 * check_positive(n_params, "n_params") * check_positive(n_tokens, "n_tokens")


PF_DAY = 1e15 * 86_400  # one petaflop/s sustained for a day = 8.64e19 FLOPs


def flops_to_pf_days(flops: float) -> float:
    """FLOPs -> petaflop/s-days, the unit of Brown et al. (2020, Table D.1)."""
    return check_positive(flops, "flops") / PF_DAY


def parameter_table(models: tuple[ModelEntry, ...] = MODELS) -> list[dict]:
    """One row per model: name, year, computed count, published count, computed/published."""
    if isinstance(models, ModelEntry) or not isinstance(models, (tuple, list)):
        raise TypeError(f"models must be a tuple of ModelEntry, got {describe(models)}")
    for i, m in enumerate(models):
        if not isinstance(m, ModelEntry):
            raise TypeError(f"models[{i}] must be a ModelEntry, got {describe(m)}")
    rows = []
    for m in models:
        computed = count_on_meta(m.builder)
        ratio = computed / m.published if m.published else float("nan")
        rows.append({"model": m.name, "year": m.year, "computed": computed,
                     "published": m.published, "ratio": ratio, "source": m.key,
                     "note": m.note})  # fmt: skip
    return rows


# Short labels for the timeline figure, by citation key.
TIMELINE_LABELS: dict[str, str] = {
    "mcculloch1943logical": "McCulloch-Pitts neuron",
    "rosenblatt1958perceptron": "perceptron",
    "minsky1969perceptrons": "Perceptrons (book)",
    "rumelhart1986learning": "backpropagation",
    "lecun1989backpropagation": "CNN for zip codes",
    "hochreiter1997long": "LSTM",
    "lecun1998gradient": "LeNet-5",
    "hinton2006fast": "deep belief nets",
    "deng2009imagenet": "ImageNet",
    "krizhevsky2012imagenet": "AlexNet",
    "mnih2013playing": "DQN (arXiv)",
    "simonyan2015very": "VGG",
    "bahdanau2015neural": "attention",
    "mnih2015human": "DQN (Nature)",
    "dai2015semi": "pre-train, then fine-tune",
    "he2016deep": "ResNet",
    "silver2016mastering": "AlphaGo",
    "shazeer2017outrageously": "mixture of experts",
    "vaswani2017attention": "Transformer",
    "howard2018universal": "ULMFiT",
    "radford2018improving": "GPT",
    "devlin2019bert": "BERT",
    "radford2019language": "GPT-2",
    "kaplan2020scaling": "scaling laws",
    "brown2020language": "GPT-3",
    "hoffmann2022training": "Chinchilla",
    "ouyang2022training": "InstructGPT",
    "fedus2022switch": "Switch Transformer",
    "openai2022chatgpt": "ChatGPT",
    "touvron2023llama": "LLaMA",
    "openai2023gpt4": "GPT-4",
    "touvron2023llama2": "Llama 2",
    "bai2023qwen": "Qwen",
    "jiang2023mistral": "Mistral 7B",
    "jiang2024mixtral": "Mixtral 8x7B",
    "openai2024o1": "OpenAI o1",
    "deepseekai2024v3": "DeepSeek-V3",
    "deepseekai2025r1": "DeepSeek-R1",
}
