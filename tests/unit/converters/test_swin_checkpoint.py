"""The official Swin checkpoint layout converted as MMDetection 3.3.0's ``swin_converter`` converts
it (a weighted sum of every converted tensor, pinned), and a converted checkpoint loaded through
``init_cfg=dict(type='Pretrained', ...)`` with ``convert_weights=True``."""

import pytest
import torch

from mmcascade.checkpoint.swin import swin_official_to_mmdet
from mmcascade.registry import MODELS


def _official(embed: int = 8, depths=(2, 2), heads=(1, 2), window: int = 3, seed: int = 0) -> dict:
    """An official-layout Swin state dict (two stages), every tensor drawn in order from one generator."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    sd = {"patch_embed.proj.weight": r(embed, 3, 4, 4), "patch_embed.proj.bias": r(embed)}
    sd |= {"patch_embed.norm.weight": r(embed), "patch_embed.norm.bias": r(embed)}
    c = embed
    for i, (depth, h) in enumerate(zip(depths, heads)):
        for j in range(depth):
            p = f"layers.{i}.blocks.{j}."
            sd |= {p + "norm1.weight": r(c), p + "norm1.bias": r(c), p + "attn.qkv.weight": r(3 * c, c)}
            sd |= {p + "attn.qkv.bias": r(3 * c), p + "attn.proj.weight": r(c, c), p + "attn.proj.bias": r(c)}
            sd |= {p + "attn.relative_position_bias_table": r((2 * window - 1) ** 2, h)}
            sd |= {p + "norm2.weight": r(c), p + "norm2.bias": r(c), p + "mlp.fc1.weight": r(4 * c, c)}
            sd |= {p + "mlp.fc1.bias": r(4 * c), p + "mlp.fc2.weight": r(c, 4 * c), p + "mlp.fc2.bias": r(c)}
        if i < len(depths) - 1:
            sd |= {f"layers.{i}.downsample.reduction.weight": r(2 * c, 4 * c)}
            sd |= {f"layers.{i}.downsample.norm.weight": r(4 * c), f"layers.{i}.downsample.norm.bias": r(4 * c)}
            c *= 2
    return sd | {"norm.weight": r(c), "norm.bias": r(c), "head.weight": r(10, c), "head.bias": r(10)}


def _weighted(t: torch.Tensor) -> float:
    return float((t.flatten() * torch.arange(1, t.numel() + 1, dtype=torch.float32)).sum())


def test_conversion_as_mmdet():
    out = swin_official_to_mmdet(_official())
    assert len(out) == 59 and not any(k.startswith(("head.", "norm.", "layers.")) for k in out)
    # MMDetection 3.3.0's swin_converter on the same dict (the patch merging reordered)
    assert _weighted(out["stages.0.downsample.reduction.weight"]) == pytest.approx(-9764.398, abs=0.05)
    assert _weighted(out["stages.0.downsample.norm.weight"]) == pytest.approx(83.712, abs=1e-3)
    assert _weighted(out["stages.0.downsample.norm.bias"]) == pytest.approx(24.01, abs=1e-3)
    assert out["stages.1.blocks.1.ffn.layers.0.0.weight"].shape == (64, 16)
    assert out["stages.0.blocks.0.attn.w_msa.relative_position_bias_table"].shape == (25, 1)


def test_pretrained_official_checkpoint_loads(tmp_path):
    path = tmp_path / "swin_official.pth"
    torch.save({"model": _official()}, path)
    init = dict(type="Pretrained", checkpoint=str(path))
    cfg = dict(type="SwinTransformer", embed_dims=8, depths=(2, 2), num_heads=(1, 2), strides=(4, 2), window_size=3,
               out_indices=(0, 1), convert_weights=True, init_cfg=init)  # fmt: skip
    model = MODELS.build(cfg)
    model.init_weights()
    expected = swin_official_to_mmdet(_official())
    for key, value in expected.items():
        assert torch.equal(model.state_dict()[key], value), key
