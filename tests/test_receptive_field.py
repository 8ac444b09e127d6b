import pytest
import torch

from scout.model import build_network, receptive_field_px


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_receptive_field_formula_covers_the_measured_one(depth):
    arch = {"name": "unet", "base_channels": 4, "depth": depth}
    torch.manual_seed(0)
    net = build_network(arch, 3, 3).eval()
    x = torch.randn(1, 3, 192, 192, requires_grad=True)
    net(x)[0, :, 96, 96].sum().backward()
    hit = (x.grad.abs().sum((0, 1)) > 0).nonzero()
    measured = int(max(hit[:, 0].max() - hit[:, 0].min(), hit[:, 1].max() - hit[:, 1].min())) + 1
    rf = receptive_field_px(arch)
    assert measured <= rf <= measured + 2**depth + 8
