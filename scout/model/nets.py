"""Network definitions, chosen by the card's ``architecture`` entry.

``unet``: a small U-Net (3x3 convs, batch norm, max-pool down, bilinear up) sized for a
laptop CPU.  ``encoder_unet``: a standard torchvision encoder (``mobilenet_v3_small``,
``mobilenet_v3_large``, ``resnet18``; truncated at 1/16 resolution) under a light U-Net decoder
with a full-resolution skip, so ImageNet-pretrained weights a user converted can be loaded
(:func:`load_encoder_weights`).  ``pixel_linear``: a 1x1 convolution, i.e. per-pixel
logistic regression; a baseline, and a network whose output is known exactly, which the
tests use.
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


ENCODERS = ("mobilenet_v3_small", "mobilenet_v3_large", "resnet18")
ENCODER_CONTEXT_PX = 128
"""Tile overlap for encoder networks.  Their theoretical receptive field exceeds a tile (and
squeeze-excitation pools whole tiles), so tiles overlap by this much and the linear-ramp blend
hides what differs between neighbours."""


def _encoder(name: str, in_channels: int) -> tuple[nn.Module, list[nn.Module], list[int]]:
    """(torchvision model holding the encoder, its stages at strides 2, 4, 8, 16, their channels).

    The model keeps torchvision's module names, so a torchvision state dict loads into it."""
    import torchvision

    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})")
    if name == "resnet18":
        m = torchvision.models.resnet18(weights=None)
        if in_channels != 3:
            m.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        del m.layer4, m.fc
        stages = [nn.Sequential(m.conv1, m.bn1, m.relu), nn.Sequential(m.maxpool, m.layer1), m.layer2, m.layer3]
        return m, stages, [64, 64, 128, 256]
    m = getattr(torchvision.models, name)(weights=None)
    first = m.features[0][0]
    if in_channels != 3:
        m.features[0][0] = nn.Conv2d(in_channels, first.out_channels, 3, 2, 1, bias=False)
    del m.classifier, m.avgpool
    cuts = {"mobilenet_v3_large": (2, 4, 7, 13), "mobilenet_v3_small": (1, 2, 4, 9)}[name]
    del m.features[cuts[-1]:]
    stages, start = [], 0
    for stop in cuts:
        stages.append(nn.Sequential(*m.features[start:stop]))
        start = stop
    channels = [_out_channels(st) for st in stages]
    return m, stages, channels


def _out_channels(stage: nn.Module) -> int:
    convs = [mod for mod in stage.modules() if isinstance(mod, nn.Conv2d)]
    return convs[-1].out_channels


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class EncoderUNet(nn.Module):
    """A torchvision encoder (strides 2-16) with a U-Net decoder: upsample, concatenate the
    stage's features, one 3x3 conv; a last block at full resolution sees a small full-resolution
    stem, so plot edges stay sharp."""

    def __init__(self, encoder: str, in_channels: int, num_classes: int, decoder_channels: tuple[int, ...] = (64, 32, 24, 16, 8)) -> None:
        super().__init__()
        self.backbone, stages, chans = _encoder(encoder, in_channels)
        self.stages = stages  # views into self.backbone (no parameters of their own)
        self.stem = _conv_bn(in_channels, decoder_channels[-1])
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        skips = [chans[2], chans[1], chans[0], decoder_channels[-1]]  # skips for strides 8, 4, 2, 1
        self.center = _conv_bn(chans[3], decoder_channels[0])
        self.dec = nn.ModuleList(_conv_bn(decoder_channels[i] + skips[i], decoder_channels[i + 1]) for i in range(4))
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        h = x
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        h = self.center(feats[4])
        for block, skip in zip(self.dec, (feats[3], feats[2], feats[1], feats[0])):
            h = block(torch.cat([self.up(h), skip], dim=1))
        return self.head(h)


def load_encoder_weights(net: nn.Module, path: str, bands: tuple[str, ...]) -> list[str]:
    """Load a torchvision state dict (a safetensors file, e.g. ImageNet weights a user converted)
    into ``net``'s encoder; returns the names of encoder tensors the file did not have.

    A first convolution trained on RGB is mapped to the model's bands by name (red, green, blue);
    other bands (NIR) get the mean of the RGB filters."""
    from safetensors.torch import load_file

    if not isinstance(net, EncoderUNet):
        raise ValueError("encoder weights need an encoder network (architecture encoder_unet)")
    state = load_file(path)
    own = net.backbone.state_dict()
    loaded, shapes = {}, []
    for k, v in state.items():
        if k not in own:
            continue
        if own[k].shape != v.shape:
            if v.ndim == 4 and v.shape[1] == 3 and own[k].shape[1] == len(bands) and own[k].shape[0] == v.shape[0]:
                rgb = {"red": 0, "green": 1, "blue": 2}
                v = torch.stack([v[:, rgb[b]] if b in rgb else v.mean(1) for b in bands], dim=1)
            else:
                shapes.append(f"{k}: file {tuple(v.shape)}, network {tuple(own[k].shape)}")
                continue
        loaded[k] = v
    if shapes:
        raise ValueError("encoder weights do not fit: " + "; ".join(shapes[:3]))
    if not loaded:
        raise ValueError("no tensor in the file matches the encoder (is it a torchvision state dict of the same encoder?)")
    net.backbone.load_state_dict(loaded, strict=False)
    return sorted(set(own) - set(loaded))


def keep_input_bands(net: nn.Module, keep: list[int], in_channels: int) -> None:
    """Cut ``net``'s input to the bands at ``keep`` (indexes into its ``in_channels``), in place.

    Every convolution that reads the network input keeps those bands' filters, so a fine-tune
    starts from what the model learned (an RGB model from an RGBN one).  Inputs are normalised
    to zero mean, so dropping a band's filters is feeding it its mean."""
    first: list[nn.Conv2d] = []
    probe = torch.zeros(1, in_channels, 32, 32)
    hooks = [m.register_forward_pre_hook(lambda m, a: first.append(m) if a[0] is probe else None) for m in net.modules() if isinstance(m, nn.Conv2d)]
    was_training = net.training
    with torch.no_grad():
        net.eval()(probe)
    net.train(was_training)
    for h in hooks:
        h.remove()
    if not first:
        raise ValueError("no convolution reads the network input")
    for conv in first:
        conv.weight = nn.Parameter(conv.weight.detach()[:, keep].clone())
        conv.in_channels = len(keep)


def build_network(architecture: dict[str, Any], in_channels: int, num_classes: int) -> nn.Module:
    """Build the untrained network a card's ``architecture`` entry describes."""
    name = architecture.get("name")
    if name == "unet":
        return UNet(in_channels, num_classes, int(architecture.get("base_channels", 16)), int(architecture.get("depth", 3)))
    if name == "encoder_unet":
        dec = tuple(int(c) for c in architecture.get("decoder_channels", (64, 32, 24, 16, 8)))
        return EncoderUNet(str(architecture.get("encoder")), in_channels, num_classes, dec)
    if name == "pixel_linear":
        return nn.Conv2d(in_channels, num_classes, 1)
    raise ValueError(f"unknown architecture {name!r} (known: unet, encoder_unet, pixel_linear)")


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
    if architecture.get("name") == "encoder_unet":
        return ENCODER_CONTEXT_PX
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
