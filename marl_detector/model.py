"""The detector network: standardised features -> MLP -> one logit, P(flag = manipulation).

Why a small MLP with the feature normalisation *inside* the state dict: the model hash committed on chain
must pin everything that changes a decision, including the feature scaling; and the live detector must run
it on a CPU in milliseconds.
"""

from __future__ import annotations

import torch
from torch import nn


class DetectorNet(nn.Module):
    def __init__(self, n_features: int, hidden: tuple[int, ...] = (128, 64)) -> None:
        super().__init__()
        self.n_features = n_features
        self.hidden = tuple(hidden)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.register_buffer("mask", torch.ones(n_features))  # 0 drops a feature (modality ablation)
        layers: list[nn.Module] = []
        d = n_features
        for h in self.hidden:
            layers += [nn.Linear(d, h), nn.Tanh()]
            d = h
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def set_normalisation(self, X: torch.Tensor) -> None:
        self.mean.copy_(X.mean(dim=0))
        self.std.copy_(X.std(dim=0).clamp_min(1e-4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of flagging; features outside the mask are zeroed after standardisation."""
        z = (x - self.mean) / self.std * self.mask
        return self.net(z.clamp(-10, 10)).squeeze(-1)
