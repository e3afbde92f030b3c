"""FLOPs and parameters of a detector, per component (backbone, neck, RPN, each cascade stage's
box and mask heads).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 800 1216] [--num-rois 1000] [--num-mask-rois 100]

GFLOPs = 2 x GMACs (one multiply and one add). Only Conv2d / ConvTranspose2d / Linear layers
are counted; RoIAlign, NMS, normalisation and activations are not.
"""

import argparse

from mmengine.config import DictAction
from terminaltables import AsciiTable

from mmcascade.analysis.complexity import ComponentCost, count_costs
from mmcascade.config.loading import load_tool_config
from mmcascade.registry import MODELS
from mmcascade.utils import register_all_modules


def cost_table(costs: list[ComponentCost], shape: tuple[int, int]) -> str:
    rows = [["component", "GMACs", "GFLOPs", "params (M)"]]
    rows += [[c.name, f"{c.macs / 1e9:.2f}", f"{c.flops / 1e9:.2f}", f"{c.params / 1e6:.2f}"] for c in costs]
    total_macs, total_params = sum(c.macs for c in costs), sum(c.params for c in costs)
    rows.append(["total", f"{total_macs / 1e9:.2f}", f"{2 * total_macs / 1e9:.2f}", f"{total_params / 1e6:.2f}"])
    table = AsciiTable(rows, title=f" input 3x{shape[0]}x{shape[1]} ")
    table.inner_footing_row_border = True
    return table.table


def main(argv: list[str] | None = None) -> list[ComponentCost]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--shape", type=int, nargs="+", default=[800, 1216], help="input H W (or one size)")
    parser.add_argument("--num-rois", type=int, default=1000)
    parser.add_argument("--num-mask-rois", type=int, default=100)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    shape = (args.shape[0], args.shape[-1])
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    costs = count_costs(model, shape, args.num_rois, args.num_mask_rois)
    print(cost_table(costs, shape))
    return costs


if __name__ == "__main__":
    main()
