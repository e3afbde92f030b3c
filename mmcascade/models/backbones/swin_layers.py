"""The layers of the Swin Transformer (Liu et al., ICCV 2021): self-attention inside
non-overlapping windows, shifted by half a window every other block. MMDetection's module and
parameter names (``attn.w_msa``, ``relative_position_bias_table``, ``ffn.layers``); the feed-forward
layer and the drop path are mmcv's."""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmcascade.models.layers.drop_path import drop_path


def relative_position_index(window: int) -> Tensor:
    """``(window**2, window**2)`` int64: for tokens ``p`` and ``q`` of a window, the row of the
    bias table for their offset ``(dy, dx)``: ``(dy + window - 1) * (2 * window - 1) + dx + window - 1``."""
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])  # (2, N)
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)
    return rel[0] * (2 * window - 1) + rel[1]


class WindowMSA(BaseModule):
    """Multi-head self-attention within windows, with a learned bias per relative position.

    ``forward(x (B * windows, N, C), mask (windows, N, N) or None)`` -> same shape as ``x``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def init_weights(self) -> None:
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.view(b // windows, windows, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class ShiftWindowMSA(BaseModule):
    """Window attention over a token map padded (right, bottom) to whole windows, the windows
    shifted by ``shift_size`` (tokens that wrap around masked from each other).

    ``forward(x (B, H * W, C), hw_shape (H, W))`` -> ``(B, H * W, C)``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int,
        shift_size: int = 0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f"ShiftWindowMSA: shift_size {shift_size} must be in [0, window_size={window_size})")
        self.window_size, self.shift_size = window_size, shift_size
        self.w_msa = WindowMSA(embed_dims, num_heads, window_size, qkv_bias, qk_scale, attn_drop_rate, proj_drop_rate)
        self.drop = drop_path(drop_path_rate)

    def _windows(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        ws = self.window_size
        x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ws * ws, c)

    def _mask(self, h: int, w: int, device: torch.device) -> Tensor:
        """``(windows, N, N)``: 0 between tokens of the same region before the shift, -100 otherwise."""
        ws, s = self.window_size, self.shift_size
        regions = torch.zeros(1, h, w, 1, device=device)
        label = 0
        for ys in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            for xs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
                regions[:, ys, xs, :] = label
                label += 1
        windows = self._windows(regions).squeeze(-1)  # (windows, N)
        diff = windows.unsqueeze(1) - windows.unsqueeze(2)
        return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)

    def forward(self, x: Tensor, hw_shape: tuple[int, int]) -> Tensor:
        b, length, c = x.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f"ShiftWindowMSA: {length} tokens do not make a {h}x{w} map")
        ws = self.window_size
        query = F.pad(x.view(b, h, w, c), (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        hp, wp = query.shape[1:3]
        mask = None
        if self.shift_size > 0:
            query = torch.roll(query, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
            mask = self._mask(hp, wp, x.device)
        out = self.w_msa(self._windows(query), mask=mask)
        out = out.view(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if self.shift_size > 0:
            out = torch.roll(out, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        return self.drop(out[:, :h, :w, :].reshape(b, h * w, c))


class SwinBlock(BaseModule):
    """Pre-norm (shifted) window attention and a 2-layer MLP, each with a residual connection."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        window_size: int = 7,
        shift: bool = False,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type="LN")
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(
            embed_dims,
            num_heads,
            window_size,
            window_size // 2 if shift else 0,
            qkv_bias,
            qk_scale,
            attn_drop_rate,
            drop_rate,
            drop_path_rate,
        )
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
            act_cfg=act_cfg or dict(type="GELU"),
            add_identity=True,
        )

    def forward(self, x: Tensor, hw_shape: tuple[int, int]) -> Tensor:
        def run(x: Tensor) -> Tensor:
            x = x + self.attn(self.norm1(x), hw_shape)
            return self.ffn(self.norm2(x), identity=x)

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(run, x, use_reentrant=False)
        return run(x)


class SwinBlockSequence(BaseModule):
    """A stage: ``depth`` blocks (every other one shifted), then patch merging (``downsample``) if
    given. ``forward`` returns the merged tokens and their shape, and the stage's own output and shape."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        depth: int,
        window_size: int,
        drop_path_rates: list[float],
        downsample: nn.Module | None = None,
        **block: object,
    ) -> None:
        super().__init__()
        if len(drop_path_rates) != depth:
            raise ValueError(f"SwinBlockSequence: {len(drop_path_rates)} drop-path rates for {depth} blocks")
        self.blocks = nn.ModuleList(
            SwinBlock(
                embed_dims,
                num_heads,
                feedforward_channels,
                window_size,
                shift=i % 2 == 1,
                drop_path_rate=drop_path_rates[i],
                **block,
            )
            for i in range(depth)
        )
        self.downsample = downsample

    def forward(self, x: Tensor, hw_shape: tuple[int, int]) -> tuple[Tensor, tuple[int, int], Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        merged, merged_shape = self.downsample(x, hw_shape)
        return merged, tuple(merged_shape), x, hw_shape
