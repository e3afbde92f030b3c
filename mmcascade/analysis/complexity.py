"""Count multiply-accumulates (MACs) and parameters per detector component with forward hooks
on the layers that dominate the cost (Conv2d, ConvTranspose2d, Linear). Normalisation, pooling,
RoIAlign, NMS and activations are not counted (well under 1% of a ResNet-FPN detector's MACs).

Components: backbone, neck, RPN head, and for every RoI stage its box head and mask head, on a
fixed number of RoIs (the test-time 1000 proposals and 100 detections by default), as
MMDetection's get_flops does with its dummy proposals.
"""

from collections import defaultdict
from dataclasses import dataclass

import torch
import torch.nn as nn

from mmcascade.structures import bbox2roi


@dataclass(frozen=True)
class ComponentCost:
    name: str
    macs: int
    params: int

    @property
    def flops(self) -> int:
        return 2 * self.macs  # one multiply and one add per MAC


def layer_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """MACs of one call of a Conv2d / ConvTranspose2d / Linear layer (bias excluded)."""
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return inputs[0].numel() * (module.out_channels // module.groups) * kh * kw
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _component_of(name: str, roi_head: nn.Module) -> str:
    parts = name.split(".")
    if parts[0] != "roi_head":
        return {"rpn_head": "rpn head"}.get(parts[0], parts[0])
    kind = "box head" if parts[1].startswith("bbox") else "mask head"
    if getattr(roi_head, "num_stages", 1) > 1 and len(parts) > 2 and parts[2].isdigit():
        return f"stage {int(parts[2]) + 1} {kind}"
    return kind


def count_costs(
    model: nn.Module, image_shape: tuple[int, int], num_rois: int = 1000, num_mask_rois: int = 100, seed: int = 0
) -> list[ComponentCost]:
    """Per-component MACs and parameters for one ``(3, H, W)`` input."""
    macs: dict[str, int] = defaultdict(int)
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            component = _component_of(name, model.roi_head)

            def hook(mod, inp, out, component=component):
                macs[component] += layer_macs(mod, inp, out)

            handles.append(module.register_forward_hook(hook))
    h, w = image_shape
    gen = torch.Generator().manual_seed(seed)
    try:
        with torch.no_grad():
            feats = model.extract_feat(torch.rand(1, 3, h, w, generator=gen))
            model.rpn_head(feats)
            roi_head = model.roi_head
            for stage in range(getattr(roi_head, "num_stages", 1)):
                roi_head.bbox_forward(stage, feats, _random_rois(num_rois, h, w, gen))
                if getattr(roi_head, "with_mask", False):
                    roi_head.mask_forward(stage, feats, _random_rois(num_mask_rois, h, w, gen))
    finally:
        for handle in handles:
            handle.remove()
    params: dict[str, int] = defaultdict(int)
    for name, p in model.named_parameters():
        params[_component_of(name, model.roi_head)] += p.numel()
    names = list(dict.fromkeys(list(macs) + list(params)))
    return [ComponentCost(n, macs.get(n, 0), params.get(n, 0)) for n in names]


def _random_rois(n: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([w * 0.8, h * 0.8])
    wh = 16 + torch.rand(n, 2, generator=gen) * torch.tensor([w * 0.2, h * 0.2])
    return bbox2roi([torch.cat([xy, xy + wh], dim=1)])
