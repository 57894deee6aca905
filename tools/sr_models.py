"""PyTorch definitions of litecam's super-resolution networks (train/export time only).

* :class:`XLSR` — Ayazoglu, "Extremely Lightweight Quantization Robust Real-Time Single-Image Super
  Resolution for Mobile Devices", CVPRW 2021 (MAI challenge).  Built as published.
* :class:`ESRT` — Lu et al., "Transformer for Single Image Super-Resolution", CVPRW 2022.  Same blocks
  (HPB with ARFB units and the high-frequency filtering module; efficient transformer with EMHA over
  unfolded 3×3 patches, 32 channels), configurable depth; litecam's CPU configuration is smaller than
  the paper's (see :data:`ESRT_CONFIGS`).  Unfold/fold are written with ops ONNX Runtime's CPU provider
  runs for any H×W (pad + slices + concat / pad + slices + sum), so the model exports with dynamic size.

* :class:`LiteSR` — litecam's live tier: a plain stack of 3×3 convolutions on luma only, added to the
  bicubic enlargement (the ESPCN/ECBSR family without their extras), sized by measured time in the
  project's fused Numba kernel (`kernels.litesr`), not by MACs.

All take ``lr``: float32 N×3×H×W RGB in [0, 1] and return N×3×(H·s)×(W·s).

Run ``python -m tools.sr_models`` to print the parameter counts.

One module (over 500 lines) on purpose: the three networks share blocks and their ONNX-exportable
unfold/fold, and ``tools.train_sr`` and ``tools.export_onnx`` take any of them by name from here.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------- XLSR


class GBlock(nn.Module):
    """Grouped 3×3 conv (32→32, 4 groups) + ReLU + 1×1 conv 32→32."""

    def __init__(self, ch: int = 32, groups: int = 4):
        super().__init__()
        self.conv_g = nn.Conv2d(ch, ch, 3, padding=1, groups=groups)
        self.conv_p = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        return self.conv_p(F.relu(self.conv_g(x)))


class XLSR(nn.Module):
    """XLSR as published (Ayazoglu 2021).

    Four parallel 3×3 convs 3→8, concatenated to 32, then 1×1 32→32; three GBlocks; a 3×3 skip conv
    3→16 from the input; concat (48) → 1×1 → 32 + ReLU → 3×3 → 3·s² → depth-to-space → clipped ReLU.
    17,612 parameters at ×2, 21,947 at ×3.
    """

    def __init__(self, scale: int = 2, ch: int = 32, n_gblocks: int = 3):
        super().__init__()
        self.scale = scale
        self.heads = nn.ModuleList([nn.Conv2d(3, ch // 4, 3, padding=1) for _ in range(4)])
        self.conv_in = nn.Conv2d(ch, ch, 1)
        self.gblocks = nn.Sequential(*[GBlock(ch) for _ in range(n_gblocks)])
        self.skip = nn.Conv2d(3, 16, 3, padding=1)
        self.conv_mix = nn.Conv2d(ch + 16, ch, 1)
        self.conv_out = nn.Conv2d(ch, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self._init()

    def _init(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        # Start near mid-grey so most outputs begin inside the clipped ReLU's [0, 1] range and get
        # gradient (an all-zero start would leave half the pixels clipped at 0).
        nn.init.normal_(self.conv_out.weight, std=1e-3)
        nn.init.constant_(self.conv_out.bias, 0.5)

    def forward(self, lr):
        # The four parallel 3×3 heads and the 3×3 skip conv all read the input: run them as one
        # 3→48 conv with their weights concatenated (identical result, one pass over the input).
        w = torch.cat([h.weight for h in self.heads] + [self.skip.weight], dim=0)
        b = torch.cat([h.bias for h in self.heads] + [self.skip.bias], dim=0)
        y = F.conv2d(lr, w, b, padding=1)
        n_head = 4 * self.heads[0].out_channels
        x = self.conv_in(y[:, :n_head])
        x = self.gblocks(x)
        x = torch.cat([x, y[:, n_head:]], dim=1)
        x = F.relu(self.conv_mix(x))
        x = self.shuffle(self.conv_out(x))
        return torch.clamp(x, 0.0, 1.0)  # clipped ReLU


class XLSRDeploy(nn.Module):
    """The same function as a trained :class:`XLSR`, rearranged for ONNX Runtime's CPU kernels.

    * the four 3×3 heads become one 3→32 conv (their weights concatenated);
    * concat(GBlocks, skip) → 1×1 becomes two 1×1 convs summed (no 48-channel concat in memory);
    * the output conv is zero-padded to a multiple of 8 output channels (ORT's blocked NCHWc
      convolution, ~1.7× faster than its fallback for 12 channels), and the extra channels sliced off.
    Weights are copied, so outputs match the training graph to float rounding.
    """

    def __init__(self, m: XLSR):
        super().__init__()
        s = m.scale
        ch = m.conv_in.in_channels
        self.heads = nn.Conv2d(3, ch, 3, padding=1)
        self.skip = nn.Conv2d(3, m.skip.out_channels, 3, padding=1)
        self.conv_in = m.conv_in
        self.gblocks = m.gblocks
        n_skip = m.skip.out_channels
        self.mix_a = nn.Conv2d(ch, ch, 1)
        self.mix_b = nn.Conv2d(n_skip, ch, 1, bias=False)
        n_out = 3 * s * s
        n_pad = -(-n_out // 8) * 8
        self.n_out = n_out
        self.conv_out = nn.Conv2d(ch, n_pad, 3, padding=1)
        self.shuffle = nn.PixelShuffle(s)
        with torch.no_grad():
            self.heads.weight.copy_(torch.cat([h.weight for h in m.heads], 0))
            self.heads.bias.copy_(torch.cat([h.bias for h in m.heads], 0))
            self.skip.load_state_dict(m.skip.state_dict())
            self.mix_a.weight.copy_(m.conv_mix.weight[:, :ch])
            self.mix_a.bias.copy_(m.conv_mix.bias)
            self.mix_b.weight.copy_(m.conv_mix.weight[:, ch:])
            self.conv_out.weight.zero_()
            self.conv_out.bias.zero_()
            self.conv_out.weight[:n_out].copy_(m.conv_out.weight)
            self.conv_out.bias[:n_out].copy_(m.conv_out.bias)

    def forward(self, lr):
        x = self.gblocks(self.conv_in(self.heads(lr)))
        x = F.relu(self.mix_a(x) + self.mix_b(self.skip(lr)))
        x = self.conv_out(x)[:, : self.n_out]
        return torch.clamp(self.shuffle(x), 0.0, 1.0)


# --------------------------------------------------------------------------------------------- LiteSR

LUMA_RGB = (0.299, 0.587, 0.114)
"""Full-range BT.601 luma weights. Adding d to R, G and B adds exactly d to this luma, which is how
:class:`LiteSR` puts its luma detail onto the bicubic colour picture."""


class RepConv3x3(nn.Module):
    """A 3×3 convolution trained as several branches that add up to one 3×3 convolution
    (structural re-parameterisation, as in RepVGG, Ding et al. 2021, and ECBSR, Zhang et al. 2021):
    3×3 + 1×1 + (1×1 expanding to `expand`·Cin channels, no bias → 3×3, no bias) + identity when
    Cin = Cout. The extra branches change how the network trains, not what it can compute; `fused()`
    gives the single equivalent 3×3 kernel and bias (exact, zero padding included: the 1×1 expansion
    has no bias, so it maps the zero border to zero)."""

    def __init__(self, cin: int, cout: int, expand: int = 2):
        super().__init__()
        self.k3 = nn.Conv2d(cin, cout, 3, padding=1)
        self.k1 = nn.Conv2d(cin, cout, 1)
        self.e1 = nn.Conv2d(cin, cin * expand, 1, bias=False)
        self.e3 = nn.Conv2d(cin * expand, cout, 3, padding=1, bias=False)
        self.identity = cin == cout

    def forward(self, x):
        y = self.k3(x) + self.k1(x) + self.e3(self.e1(x))
        return y + x if self.identity else y

    @torch.no_grad()
    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        weight = self.k3.weight.clone()
        weight[:, :, 1, 1] += self.k1.weight[:, :, 0, 0]
        weight += torch.einsum("omyx,mi->oiyx", self.e3.weight, self.e1.weight[:, :, 0, 0])
        if self.identity:
            idx = torch.arange(weight.shape[0])
            weight[idx, idx, 1, 1] += 1.0
        return weight, self.k3.bias + self.k1.bias


class LiteSR(nn.Module):
    """Luma detail over bicubic, for the live tier.

    ``y = luma(lr)``; ``channels`` 3×3 conv + ReLU, ``blocks`` × (3×3 conv channels→channels + ReLU),
    3×3 conv → s² channels → depth-to-space = the detail ``d`` (N×1×sH×sW); the output is
    ``clamp(bicubic(lr) + d, 0, 1)`` with the same ``d`` added to R, G and B. Bicubic is PyTorch's
    (a = −0.75, half-pixel centres, edge-clamped), the same as ``cv2.resize(INTER_CUBIC)``, so the
    runtime can take the bicubic picture from OpenCV and add the detail. Zero padding at the image
    border, as every conv here. 6 channels, 3 blocks (shipped): 1,270 parameters, 1,242 MACs per input pixel.
    `rep`: each conv is trained as a `RepConv3x3` (more branches, the same network once fused).
    """

    def __init__(self, scale: int = 2, channels: int = 8, blocks: int = 1, rep: bool = False):
        super().__init__()
        self.scale, self.channels, self.blocks, self.rep = scale, channels, blocks, rep
        conv = RepConv3x3 if rep else (lambda cin, cout: nn.Conv2d(cin, cout, 3, padding=1))
        self.body = nn.ModuleList([conv(1, channels)] + [conv(channels, channels) for _ in range(blocks)])
        self.tail = conv(channels, scale * scale)
        self.shuffle = nn.PixelShuffle(scale)
        self.register_buffer("luma", torch.tensor(LUMA_RGB).view(1, 3, 1, 1), persistent=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.tail.modules():  # start as plain bicubic
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=1e-3)
        if rep:  # the identity branches start the body near x → ReLU(x)
            for m in self.body.modules():
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and m.bias is None:
                    nn.init.normal_(m.weight, std=1e-2)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(3×3 weight, bias) of every layer, first first, re-parameterised branches fused."""
        return [
            m.fused() if isinstance(m, RepConv3x3) else (m.weight.detach(), m.bias.detach())
            for m in [*self.body, self.tail]
        ]

    @torch.no_grad()
    def start_from_plain(self, state: dict) -> None:
        """Load a trained plain LiteSR's state into this re-parameterised one so that it computes the
        same function: its kernels go to the 3×3 branches (minus the identity), the 1×1 and the
        expansion's 3×3 start at zero."""
        for i, conv in enumerate([*self.body, self.tail]):
            prefix = f"body.{i}." if i < len(self.body) else "tail."
            conv.k3.weight.copy_(state[prefix + "weight"])
            conv.k3.bias.copy_(state[prefix + "bias"])
            if conv.identity:
                idx = torch.arange(conv.k3.weight.shape[0])
                conv.k3.weight[idx, idx, 1, 1] -= 1.0
            for zero in (conv.k1.weight, conv.k1.bias, conv.e3.weight):
                zero.zero_()

    @torch.no_grad()
    def widen_from(self, state: dict) -> None:
        """Load a trained plain LiteSR with the same blocks and fewer channels so that this wider one
        computes the same function: its kernels fill the first channels; each new channel keeps its
        fresh incoming weights (so it can learn) and gets zero weight in the next layer (so it adds
        nothing yet)."""
        for i, conv in enumerate([*self.body, self.tail]):
            prefix = f"body.{i}." if i < len(self.body) else "tail."
            weight, bias = state[prefix + "weight"], state[prefix + "bias"]
            outs, ins = weight.shape[:2]
            conv.weight[:, ins:] = 0.0
            conv.weight[:outs, :ins] = weight
            conv.bias[:outs] = bias

    def deploy(self) -> LiteSR:
        """The same function as plain 3×3 convolutions (what is exported and run)."""
        plain = LiteSR(self.scale, self.channels, self.blocks).eval()
        with torch.no_grad():
            for conv, (weight, bias) in zip([*plain.body, plain.tail], self.layers()):
                conv.weight.copy_(weight)
                conv.bias.copy_(bias)
        return plain

    def forward(self, lr):
        x = (lr * self.luma).sum(dim=1, keepdim=True)
        for conv in self.body:
            x = F.relu(conv(x))
        detail = self.shuffle(self.tail(x))
        base = F.interpolate(lr, scale_factor=float(self.scale), mode="bicubic", align_corners=False)
        return torch.clamp(base + detail, 0.0, 1.0)


# --------------------------------------------------------------------------------------------- ESRT


def unfold3x3(x: torch.Tensor) -> torch.Tensor:
    """N×C×H×W → N×(C·9)×H×W: each pixel's zero-padded 3×3 neighbourhood (stride 1).

    Channel order c·9 + (ky·3 + kx), the same as ``F.unfold(x, 3, padding=1)`` reshaped to H×W, but
    built from pad + slices + concat so it exports to ONNX with dynamic H and W.
    """
    n, c, h, w = x.shape
    xp = F.pad(x, (1, 1, 1, 1))
    hh, ww = xp.shape[2] - 2, xp.shape[3] - 2
    shifts = [xp[:, :, ky : ky + hh, kx : kx + ww] for ky in range(3) for kx in range(3)]
    return torch.stack(shifts, dim=2).reshape(n, c * 9, hh, ww)


def fold3x3(t: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`unfold3x3` (``F.fold`` with stride 1, padding 1): N×(C·9)×H×W → N×C×H×W.

    Each of the 9 slots holds a contribution to a neighbouring pixel; they are summed back.
    """
    n, c9, h, w = t.shape
    c = c9 // 9
    t = t.reshape(n, c, 9, h, w)
    out = None
    for ky in range(3):
        for kx in range(3):
            # slot (ky, kx) at pixel (i, j) contributes to pixel (i + ky - 1, j + kx - 1)
            s = F.pad(t[:, :, ky * 3 + kx], (kx, 2 - kx, ky, 2 - ky))
            out = s if out is None else out + s
    assert out is not None  # the loops above ran
    return out[:, :, 1:-1, 1:-1]


class AdaptiveScale(nn.Module):
    """A learnable scalar (the λ weights of ESRT's adaptive residual units)."""

    def __init__(self, init: float = 1.0):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([init]))

    def forward(self, x):
        return x * self.w


class ResidualUnit(nn.Module):
    """RU: 1×1 reduction to C/2 → 1×1 expansion to C, with adaptive residual scaling λ_x·x + λ_r·f(x)."""

    def __init__(self, ch: int):
        super().__init__()
        self.reduce = nn.Conv2d(ch, ch // 2, 1)
        self.expand = nn.Conv2d(ch // 2, ch, 1)
        self.lam_res = AdaptiveScale(1.0)
        self.lam_x = AdaptiveScale(1.0)

    def forward(self, x):
        return self.lam_x(x) + self.lam_res(self.expand(F.relu(self.reduce(x))))


class ARFB(nn.Module):
    """Adaptive Residual Feature Block: two RUs, concat → 1×1 → 3×3, adaptive residual."""

    def __init__(self, ch: int):
        super().__init__()
        self.ru1 = ResidualUnit(ch)
        self.ru2 = ResidualUnit(ch)
        self.fuse = nn.Conv2d(2 * ch, 2 * ch, 1)
        self.conv = nn.Conv2d(2 * ch, ch, 3, padding=1)
        self.lam_res = AdaptiveScale(1.0)
        self.lam_x = AdaptiveScale(1.0)

    def forward(self, x):
        a = self.ru1(x)
        b = self.ru2(a)
        y = self.conv(F.relu(self.fuse(torch.cat([a, b], dim=1))))
        return self.lam_x(x) + self.lam_res(y)


def _avgpool_up(x: torch.Tensor, k: int) -> torch.Tensor:
    """Low-pass of the HFM: k×k average pool (ceil mode, edge-replicated) upsampled back by nearest ×k,
    cropped to x's size.  Works for any H×W, so it exports dynamically."""
    h, w = x.shape[2], x.shape[3]
    pad_h = (k - h % k) % k
    pad_w = (k - w % k) % k
    xp = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    low = F.avg_pool2d(xp, k)
    up = F.interpolate(low, scale_factor=float(k), mode="nearest")
    return up[:, :, :h, :w]


class HFM(nn.Module):
    """High-frequency filtering module: x − upsample(avgpool_k(x)) (the detail that pooling removes)."""

    def __init__(self, k: int = 2):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x - _avgpool_up(x, self.k)


class SEGate(nn.Module):
    """Channel attention (squeeze-excitation), used at the end of each HPB as in the paper."""

    def __init__(self, ch: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Conv2d(ch, ch // reduction, 1)
        self.fc2 = nn.Conv2d(ch // reduction, ch, 1)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class HPB(nn.Module):
    """High Preserving Block.

    ARFB → split into high frequency (HFM) and a ×0.5 downsampled copy; the high-frequency path gets an
    ARFB, the downsampled path ``n_down`` shared-weight ARFBs, is upsampled back (bilinear) and added to
    the high-frequency path's input; concat of the two paths → 1×1 fuse → channel attention → + input.
    """

    def __init__(self, ch: int, n_down: int = 5):
        super().__init__()
        self.arfb_in = ARFB(ch)
        self.hfm = HFM(2)
        self.arfb_high = ARFB(ch)
        self.arfb_down = ARFB(ch)  # shared weights, applied n_down times (paper: 5)
        self.n_down = n_down
        self.arfb_out = ARFB(ch)
        self.fuse = nn.Conv2d(2 * ch, ch, 1)
        self.se = SEGate(ch)

    def forward(self, x):
        f = self.arfb_in(x)
        high = self.hfm(f)
        h, w = f.shape[2], f.shape[3]
        d = _avgpool_up_down(f)
        for _ in range(self.n_down):
            d = self.arfb_down(d)
        d = F.interpolate(d, scale_factor=2.0, mode="bilinear", align_corners=False)[:, :, :h, :w]
        high = self.arfb_high(high + d)
        y = self.fuse(torch.cat([high, d], dim=1))
        y = self.arfb_out(self.se(y))
        return x + y


def _avgpool_up_down(x: torch.Tensor) -> torch.Tensor:
    """×0.5 downsample (2×2 average pool, edge-replicated to even size)."""
    h, w = x.shape[2], x.shape[3]
    xp = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(xp, 2)


class EMHA(nn.Module):
    """Efficient multi-head attention (ESRT).

    Tokens are unfolded 3×3 patches (dim C·9 = 288 at 32 channels).  A reduction layer halves the
    dimension, Q/K/V come from one linear, scaled dot-product attention runs per head, and an expansion
    layer restores the dimension.  The paper's *feature split* (attend within groups of tokens so the
    N×N matrix stays small) is done by the caller, :class:`ETB`, as fixed square windows.
    """

    def __init__(self, dim: int, heads: int = 8):
        super().__init__()
        self.heads = heads
        self.inner = dim // 2
        self.reduce = nn.Linear(dim, self.inner)
        self.qkv = nn.Linear(self.inner, 3 * self.inner, bias=False)
        self.expand = nn.Linear(self.inner, dim)
        self.scale = (self.inner // heads) ** -0.5

    def forward(self, x):  # x: B×N×D
        b, n, _ = x.shape
        hd = self.inner // self.heads
        qkv = self.qkv(self.reduce(x)).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # B×heads×N×hd
        attn = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        out = (attn @ v).permute(0, 2, 1, 3).reshape(b, n, self.inner)
        return self.expand(out)


class ETB(nn.Module):
    """Efficient Transformer Block on unfolded 3×3 patches: LN → EMHA → +, LN → MLP → +, then fold.

    Feature split as windows: the token map (one token per pixel) is zero-padded to a multiple of
    ``window`` and attention runs inside each ``window``×``window`` tile.  The paper splits the raster
    token sequence into 4 equal chunks, which makes the attention matrix grow with the image squared
    (impossible for a whole 640×360 frame); fixed windows keep cost linear in pixels and the same at
    training and inference, so the model runs on any H×W without tiling.
    """

    def __init__(self, ch: int = 32, heads: int = 8, window: int = 8, mlp_ratio: float = 0.5):
        super().__init__()
        dim = ch * 9
        self.window = window
        self.norm1 = nn.LayerNorm(dim)
        self.attn = EMHA(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x):
        b, c, h, w = x.shape
        ws = self.window
        t = unfold3x3(x)  # B×D×H×W, D = C·9
        d = t.shape[1]
        ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
        t = F.pad(t, (0, pw, 0, ph))
        hp, wp = t.shape[2], t.shape[3]
        nh, nw = hp // ws, wp // ws
        t = t.reshape(b, d, nh, ws, nw, ws).permute(0, 2, 4, 3, 5, 1).reshape(b * nh * nw, ws * ws, d)
        t = t + self.attn(self.norm1(t))
        t = t + self.mlp(self.norm2(t))
        t = t.reshape(b, nh, nw, ws, ws, d).permute(0, 5, 1, 3, 2, 4).reshape(b, d, hp, wp)
        return fold3x3(t[:, :, :h, :w]) / 9.0  # overlap-average back to C×H×W


ESRT_CONFIGS = {
    # name: (channels, HPBs, shared-ARFB repeats in each HPB's downsampled path, ETBs)
    "paper": (32, 3, 5, 1),
    "litecam": (32, 2, 2, 1),
    "tiny": (32, 1, 1, 1),
}


class ESRT(nn.Module):
    """ESRT: 3×3 conv → lightweight CNN backbone (HPBs) → lightweight transformer backbone (ETBs) →
    reconstruction (3×3 conv + pixel shuffle), plus a conv + pixel-shuffle path from the shallow
    features (the paper's global skip)."""

    def __init__(self, scale: int = 2, config: str = "litecam"):
        super().__init__()
        ch, n_hpb, n_down, n_etb = ESRT_CONFIGS[config]
        self.scale = scale
        self.config = config
        self.head = nn.Conv2d(3, ch, 3, padding=1)
        self.hpbs = nn.Sequential(*[HPB(ch, n_down) for _ in range(n_hpb)])
        self.etbs = nn.Sequential(*[ETB(ch) for _ in range(n_etb)])
        self.tail = nn.Sequential(nn.Conv2d(ch, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        self.skip = nn.Sequential(nn.Conv2d(ch, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, lr):
        f0 = self.head(lr)
        f = self.etbs(self.hpbs(f0))
        out = self.tail(f) + self.skip(f0)
        return torch.clamp(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------------- utils


def build_model(name: str, scale: int, **kw) -> nn.Module:
    if name == "xlsr":
        return XLSR(scale)
    if name == "esrt":
        return ESRT(scale, **kw)
    if name == "litesr":
        return LiteSR(scale, **kw)
    raise ValueError(f"unknown model {name!r}")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _self_check() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 5, 7, 6)
    ref = F.unfold(x, 3, padding=1).reshape(2, 45, 7, 6)
    assert torch.allclose(unfold3x3(x), ref), "unfold3x3 != F.unfold"
    t = torch.rand(2, 45, 7, 6)
    ref_fold = F.fold(t.reshape(2, 45, 42), (7, 6), 3, padding=1)
    assert torch.allclose(fold3x3(t), ref_fold, atol=1e-6), "fold3x3 != F.fold"


if __name__ == "__main__":
    _self_check()
    for s in (2, 3):
        print(f"XLSR x{s}: {count_params(XLSR(s)):,} parameters")
    for cfg in ESRT_CONFIGS:
        print(
            f"ESRT x2 ({cfg}: ch, HPBs, down-ARFB repeats, ETBs = {ESRT_CONFIGS[cfg]}): "
            f"{count_params(ESRT(2, cfg)):,} parameters"
        )
