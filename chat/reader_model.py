"""The reader's network: the MiniLM encoder with one linear layer giving each word piece a start and an end logit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel


class ReaderModel(nn.Module):
    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.qa = nn.Linear(encoder.config.hidden_size, 2)

    @classmethod
    def from_base(cls, base: Path, pretrained: bool = False) -> ReaderModel:
        """The network shaped like `base`; with `pretrained`, the encoder starts from base's own weights."""
        if pretrained:
            encoder = AutoModel.from_pretrained(str(base), add_pooling_layer=False)
        else:
            config = AutoConfig.from_pretrained(str(base))
            encoder = AutoModel.from_config(config, add_pooling_layer=False)  # type: ignore[no-untyped-call]
        return cls(encoder)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.qa(hidden)
        start, end = logits.unbind(dim=-1)
        # Padding can never be a start or an end.
        blocked = attention_mask == 0
        return start.masked_fill(blocked, -1e4), end.masked_fill(blocked, -1e4)
