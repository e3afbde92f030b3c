"""Draw the ground truth of a dataset *after* its training pipeline, to check augmentations.

    python tools/analysis_tools/browse_dataset.py CONFIG [--output-dir DIR] [--show-number N] \\
        [--phase train|val|test] [--cfg-options ...]

Each sample is saved as OUTPUT_DIR/<image name> with boxes, class names and translucent masks as
the model will see them (resized, flipped, padded ...).
"""

import argparse
from pathlib import Path

import mmcv
from mmengine.config import DictAction
from tqdm import tqdm

from mmcascade.config.loading import load_tool_config
from mmcascade.registry import DATASETS
from mmcascade.utils import register_all_modules
from mmcascade.visualization import DetLocalVisualizer


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--output-dir", default="work_dirs/browse_dataset")
    parser.add_argument("--show-number", type=int, default=20, help="how many samples to draw")
    parser.add_argument("--phase", choices=["train", "val", "test"], default="train")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options)
    dataset = DATASETS.build(cfg[f"{args.phase}_dataloader"].dataset)
    visualizer = DetLocalVisualizer.get_instance("browse_dataset", alpha=0.5)
    visualizer.dataset_meta = dataset.metainfo
    out_dir = Path(args.output_dir)
    saved = []
    for index in tqdm(range(min(args.show_number, len(dataset))), desc="drawing", unit="img"):
        item = dataset[index]
        sample = item["data_samples"]
        image = mmcv.bgr2rgb(item["inputs"].permute(1, 2, 0).numpy())
        name = Path(sample.metainfo.get("img_path") or f"{index:06d}.png").name
        out = out_dir / name
        visualizer.add_datasample(name, image, sample, draw_pred=False, out_file=str(out))
        saved.append(out)
    print(f"saved {len(saved)} image(s) to {out_dir}")
    return saved


if __name__ == "__main__":
    main()
