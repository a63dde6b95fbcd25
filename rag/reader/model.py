"""The span reader network: the e5 encoder with LoRA adapters and a start/end head.

What is learned (LoRA matrices + the 2-logit head) is saved as fp16 safetensors small enough
to live in the repository; the base weights are the locally rebuilt multilingual-e5-small.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

WEIGHTS_FILE = "reader.safetensors"
SETTINGS_FILE = "reader.json"
# LoRA on every attention and feed-forward projection of the encoder layers (not the pooler).
TARGET_MODULES = r".*encoder\.layer\.\d+\..*(query|key|value|dense)$"


@dataclass
class ReaderSettings:
    """Architecture of the learned part; saved beside the weights."""

    base_model: str = "multilingual-e5-small"
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    max_length: int = 192
    max_question_tokens: int = 48
    stride: int = 64
    max_answer_tokens: int = 32

    def save(self, folder: Path) -> None:
        (folder / SETTINGS_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, folder: Path) -> ReaderSettings:
        data = json.loads((folder / SETTINGS_FILE).read_text("utf-8"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _torch_module():
    from torch import nn

    class SpanReaderNet(nn.Module):
        """Encoder → per-token (start, end) logits; position 0 (``<s>``) means "no answer"."""

        def __init__(self, encoder: nn.Module, hidden: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.qa = nn.Linear(hidden, 2)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            logits = self.qa(hidden.last_hidden_state)
            start, end = logits.unbind(-1)
            return start, end

    return SpanReaderNet


def build_network(base_dir: Path, settings: ReaderSettings, trainable: bool = True,
                  attn_implementation: str | None = None):
    """Base encoder from ``base_dir`` with fresh LoRA adapters and head (LoRA params trainable);
    ``attn_implementation="eager"`` for an ONNX export that the BERT fusions recognise."""
    from peft import LoraConfig, get_peft_model
    from transformers import BertModel

    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    base = BertModel.from_pretrained(str(base_dir), add_pooling_layer=False, **extra)
    lora = LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha,
                      lora_dropout=settings.lora_dropout if trainable else 0.0,
                      target_modules=TARGET_MODULES, bias="none")
    encoder = get_peft_model(base, lora)
    net = _torch_module()(encoder, base.config.hidden_size)
    return net


def learned_state(net) -> dict[str, torch.Tensor]:
    """The LoRA and head tensors: everything that training changes."""
    return {k: v.detach().cpu() for k, v in net.state_dict().items()
            if "lora_" in k or k.startswith("qa.")}


def save_weights(net, folder: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the learned tensors in fp16 safetensors, atomically."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.to(torch.float16).contiguous() for k, v in learned_state(net).items()}
    tmp = folder / f".{WEIGHTS_FILE}.tmp"
    save_file(tensors, str(tmp), metadata=metadata or {})
    tmp.replace(folder / WEIGHTS_FILE)
    return folder / WEIGHTS_FILE


def load_weights(net, folder: Path) -> None:
    """Load the LoRA/head tensors saved in ``folder`` into ``net`` (as fp32), checked to be
    exactly the network's learned tensors."""
    import torch
    from safetensors.torch import load_file

    learned = load_file(str(folder / WEIGHTS_FILE))
    expected = set(learned_state(net))
    if set(learned) != expected:
        missing, extra = sorted(expected - set(learned))[:3], sorted(set(learned) - expected)[:3]
        raise ValueError(f"reader weights do not match the network (missing {missing}, "
                         f"unexpected {extra})")
    net.load_state_dict({k: v.to(torch.float32) for k, v in learned.items()}, strict=False)


def load_network(base_dir: Path, folder: Path, merge: bool = True,
                 attn_implementation: str | None = None):
    """The trained reader: base + saved LoRA/head; LoRA merged into the base for inference."""
    settings = ReaderSettings.load(folder)
    net = build_network(base_dir, settings, trainable=False,
                        attn_implementation=attn_implementation)
    load_weights(net, folder)
    if merge:
        net.encoder = net.encoder.merge_and_unload()
    net.eval()
    return net, settings
