"""Network definitions, chosen by the card's ``architecture`` entry.

``unet``: a small U-Net (3x3 convs, batch norm, max-pool down, bilinear up) sized for a
laptop CPU.  ``pixel_linear``: a 1x1 convolution, i.e. per-pixel logistic regression;
a baseline, and a network whose output is known exactly, which the tests use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with ``depth`` poolings; channels ``base * 2**level``."""

    def __init__(self, in_channels: int, num_classes: int, base_channels: int = 16, depth: int = 3) -> None:
        super().__init__()
        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c_prev = in_channels
        for c in chans:
            self.down.append(_double_conv(c_prev, c))
            c_prev = c
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec = nn.ModuleList(_double_conv(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for block in self.dec:
            x = block(torch.cat([self.up(x), skips.pop()], dim=1))
        return self.head(x)


def build_network(architecture: dict[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    """Build the untrained network a card's ``architecture`` entry describes."""
    name = architecture.get("name")
    if name == "unet":
        return UNet(in_channels, num_classes, int(architecture.get("base_channels", 16)), int(architecture.get("depth", 3)))
    if name == "pixel_linear":
        return nn.Conv2d(in_channels, num_classes, 1)
    raise ValueError(f"unknown architecture {name!r} (known: unet, pixel_linear)")


def receptive_field_px(architecture: dict[str, Any]) -> int:
    """Theoretical receptive field of one output pixel, in input pixels (full width).

    Each 3x3 conv at a level with stride ``j`` (2**level) widens the field by ``2*j``,
    each 2x2 pool by ``j``, each bilinear 2x upsample into level ``l`` by ``2**(l+1)``.
    Tiles must overlap by at least this much so that every pixel is predicted, in one
    tile, without seeing the tile edge.  A margin of ``2**depth`` covers pooling
    alignment (checked against measured gradients in the tests).
    """
    if architecture.get("name") == "pixel_linear":
        return 1
    depth = int(architecture.get("depth", 3))
    rf = 1
    for level in range(depth + 1):
        rf += 4 * 2**level  # two 3x3 convs
        if level < depth:
            rf += 2**level  # pool
    for level in reversed(range(depth)):
        rf += 2 ** (level + 1)  # bilinear upsample from level+1
        rf += 4 * 2**level  # two 3x3 convs
    return rf + 2**depth
