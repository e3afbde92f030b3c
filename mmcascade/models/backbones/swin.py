"""Swin Transformer backbone (Liu et al., *Swin Transformer: Hierarchical Vision Transformer using
Shifted Windows*, ICCV 2021) with MMDetection's arguments and checkpoint keys (``patch_embed``,
``stages.i``, ``norm{i}``); ``convert_weights=True`` reads the official Swin checkpoints' keys
(``layers.i``, ``mlp.fc1``...) when the pretrained weights are loaded."""

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import PatchEmbed, PatchMerging
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import Tensor

from mmcascade.checkpoint.swin import load_swin_pretrained
from mmcascade.registry import MODELS

from .swin_layers import SwinBlockSequence


@MODELS.register_module()
class SwinTransformer(BaseModule):
    """Swin Transformer: ``(N, 3, H, W)`` -> the stages in ``out_indices`` as ``(N, C_i, H_i, W_i)``
    (``C_i = embed_dims * 2**i``, strides 4, 8, 16, 32 with the default ``strides``).

    Args:
        pretrain_img_size: image size of the pretraining (for ``use_abs_pos_embed``).
        embed_dims, patch_size, window_size, mlp_ratio, depths, num_heads: the model's shape
            (Swin-T: 96, 4, 7, 4, (2, 2, 6, 2), (3, 6, 12, 24)).
        strides: the patch embedding's stride, then each patch merging's.
        qkv_bias, qk_scale: bias of the query / key / value projection; attention scale (None:
            ``head_dims ** -0.5``).
        patch_norm: LayerNorm after the patch embedding.
        drop_rate, attn_drop_rate, drop_path_rate: dropout after the projections, on the attention
            weights, and stochastic depth (rising linearly to ``drop_path_rate`` over the blocks).
        use_abs_pos_embed: a learned absolute position embedding (resized bicubically when the
            token map differs from ``pretrain_img_size / patch_size``).
        frozen_stages: freeze the patch embedding and the first ``frozen_stages`` stages (-1: none).
        convert_weights: the ``Pretrained`` checkpoint of ``init_cfg`` has the official Swin keys.
    """

    def __init__(
        self,
        pretrain_img_size: int | Sequence[int] = 224,
        in_channels: int = 3,
        embed_dims: int = 96,
        patch_size: int = 4,
        window_size: int = 7,
        mlp_ratio: int = 4,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        strides: Sequence[int] = (4, 2, 2, 2),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        patch_norm: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        use_abs_pos_embed: bool = False,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
        pretrained: str | None = None,
        convert_weights: bool = False,
        frozen_stages: int = -1,
        init_cfg: dict | None = None,
    ) -> None:
        if pretrained is not None:
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        if len(depths) != len(num_heads) or len(strides) != len(depths) or strides[0] != patch_size:
            raise ValueError(
                f"SwinTransformer: depths {depths}, num_heads {num_heads} and strides {strides} need one entry per "
                f"stage, and strides[0] must equal patch_size={patch_size}"
            )
        super().__init__(init_cfg)
        norm_cfg = norm_cfg or dict(type="LN")
        self.convert_weights, self.frozen_stages, self.out_indices = convert_weights, frozen_stages, tuple(out_indices)
        self.use_abs_pos_embed = use_abs_pos_embed
        patch_norm_cfg = norm_cfg if patch_norm else None
        self.patch_embed = PatchEmbed(
            in_channels, embed_dims, kernel_size=patch_size, stride=strides[0], norm_cfg=patch_norm_cfg
        )
        if use_abs_pos_embed:
            size = (pretrain_img_size,) * 2 if isinstance(pretrain_img_size, int) else tuple(pretrain_img_size)
            self.pos_grid = (size[0] // patch_size, size[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, self.pos_grid[0] * self.pos_grid[1], embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        block = dict(qkv_bias=qkv_bias, qk_scale=qk_scale, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate)
        block |= dict(act_cfg=act_cfg, norm_cfg=norm_cfg, with_cp=with_cp)
        self.stages = self._make_stages(
            embed_dims, depths, num_heads, strides, window_size, mlp_ratio, drop_path_rate, block
        )
        self.num_features = [embed_dims * 2**i for i in range(len(depths))]
        for i in self.out_indices:
            self.add_module(f"norm{i}", build_norm_layer(norm_cfg, self.num_features[i])[1])
        self._freeze_stages()

    @staticmethod
    def _make_stages(
        embed_dims: int,
        depths: Sequence[int],
        num_heads: Sequence[int],
        strides: Sequence[int],
        window_size: int,
        mlp_ratio: float,
        drop_path_rate: float,
        block: dict,
    ) -> nn.ModuleList:
        """The stages, each followed by patch merging but the last; stochastic depth rising
        linearly from 0 to ``drop_path_rate`` over all blocks."""
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        stages = nn.ModuleList()
        channels = embed_dims
        for i, depth in enumerate(depths):
            last = i == len(depths) - 1
            norm_cfg = block["norm_cfg"]
            merge = None if last else PatchMerging(channels, 2 * channels, stride=strides[i + 1], norm_cfg=norm_cfg)
            window_rates = rates[sum(depths[:i]) : sum(depths[: i + 1])]
            stages.append(
                SwinBlockSequence(
                    channels, num_heads[i], int(mlp_ratio * channels), depth, window_size, window_rates, merge, **block
                )
            )
            channels = channels if last else 2 * channels
        return stages

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.patch_embed, self.drop_after_pos]
        for i in range(self.frozen_stages):
            frozen.append(self.stages[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f"norm{i}"))
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        if self.use_abs_pos_embed:
            self.absolute_pos_embed.requires_grad = False

    def train(self, mode: bool = True) -> "SwinTransformer":
        super().train(mode)
        self._freeze_stages()
        return self

    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            self._load_pretrained(self.init_cfg["checkpoint"])
            return
        if self.use_abs_pos_embed:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=0.02, bias=0.0)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0, bias=0.0)
            elif hasattr(m, "relative_position_bias_table"):
                nn.init.trunc_normal_(m.relative_position_bias_table, std=0.02)

    def _load_pretrained(self, checkpoint: str) -> None:
        load_swin_pretrained(self, checkpoint, self.convert_weights)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self._pos_embed(tuple(hw_shape))
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(out)
                outs.append(out.view(-1, *out_shape, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def _pos_embed(self, hw_shape: tuple[int, int]) -> Tensor:
        if hw_shape == self.pos_grid:
            return self.absolute_pos_embed
        grid = self.absolute_pos_embed.transpose(1, 2).reshape(1, -1, *self.pos_grid)
        grid = F.interpolate(grid, size=hw_shape, mode="bicubic", align_corners=False)
        return grid.flatten(2).transpose(1, 2)
