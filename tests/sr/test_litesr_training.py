"""Train-time helpers of LiteSR (tools.sr_models): starting a wider model from a trained narrower
one. Needs PyTorch (a train-time tool, not a runtime dependency): skipped without it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is train-time only (pip install torch==2.13.0)")
from tools.sr_models import LiteSR  # noqa: E402


def test_a_widened_litesr_computes_the_same_function_and_its_new_channels_can_learn():
    torch.manual_seed(0)
    narrow = LiteSR(2, channels=5, blocks=3)
    with torch.no_grad():
        for p in narrow.tail.parameters():
            p.normal_(std=0.1)  # a "trained" tail: the detail is not zero
    wide = LiteSR(2, channels=6, blocks=3)
    wide.widen_from(narrow.state_dict())
    x = torch.rand(1, 3, 24, 32)
    assert torch.allclose(narrow(x), wide(x), atol=1e-6)
    assert (narrow(x) - torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic")).abs().max() > 1e-3
    wide(x).sum().backward()
    assert wide.body[1].weight.grad[:, 5].abs().sum() > 0  # the new channel's outgoing weights get a gradient
