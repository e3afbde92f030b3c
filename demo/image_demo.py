"""Detect objects in images and save the drawn results.

    python demo/image_demo.py IMAGES CONFIG CHECKPOINT [--out-dir outputs] [--score-thr 0.3] \\
        [--classes person car] [--device cpu] [--slice WxH [--slice-overlap 0.2] [--merge-iou-thr 0.5]]

IMAGES is a file, a folder or a glob ("data/*.jpg"); CONFIG and CHECKPOINT may also be model-zoo
names. Each image is saved with boxes, labels, scores and translucent masks to OUT_DIR (same
file name; ``.png`` / ``.jpg`` as the input; ``_1``, ``_2``... when two inputs share a name).
An OUT_DIR that holds input images is refused. Unreadable images are reported and skipped.

``--slice 1024`` (or ``--slice 1024x768``, width x height) detects large images tile by tile and
merges the tiles' detections (``mmcascade.apis.inference_sliced``), with a progress bar over tiles.
"""

import argparse
from pathlib import Path

import mmcv
from tqdm import tqdm

from mmcascade.apis import inference_detector, inference_sliced, init_detector
from mmcascade.apis.image_io import output_paths, read_images
from mmcascade.deploy.contract import is_exported_file
from mmcascade.tools.common import add_slice_args, slice_options
from mmcascade.utils import default_device
from mmcascade.utils.image_files import list_images
from mmcascade.visualization import DetLocalVisualizer


def class_filter(instances, classes: list[str] | None, names: tuple[str, ...]):
    """Keep only detections whose class name is in ``classes`` (None keeps all)."""
    if not classes:
        return instances
    unknown = sorted(set(classes) - set(names))
    if unknown:
        raise ValueError(f"unknown class name(s) {unknown}; the model knows {list(names)}")
    wanted = [names.index(c) for c in classes]
    keep = [int(lb) in wanted for lb in instances.labels]
    return instances[keep] if len(instances) else instances


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", help="image file, folder or glob")
    parser.add_argument("config", help="config file or model-zoo name")
    parser.add_argument("checkpoint", help="checkpoint file, URL or model-zoo name")
    parser.add_argument("--out-dir", default="outputs")
    parser.add_argument("--score-thr", type=float, default=0.3)
    parser.add_argument("--classes", nargs="+", help="draw only these classes")
    parser.add_argument("--device", help="default: cuda when available, else cpu (an exported model runs on the cpu)")
    parser.add_argument("--bf16", action="store_true", help="inference under bfloat16 autocast")
    parser.add_argument(
        "--backend",
        choices=("onnxruntime", "openvino"),
        help="run an exported CHECKPOINT.onnx (or int8 CHECKPOINT.xml: OpenVINO) in this runtime instead of PyTorch",
    )
    add_slice_args(parser)
    args = parser.parse_args(argv)
    try:
        sliced = slice_options(args)
    except ValueError as exc:
        parser.error(str(exc))
    files = list_images(args.images)
    try:  # an output folder holding the inputs is refused before any work
        targets = dict(zip(files, output_paths(files, args.out_dir)))
    except ValueError as exc:
        parser.error(str(exc))
    exported = args.backend or is_exported_file(args.checkpoint)
    if exported and (args.bf16 or args.device not in (None, "cpu")):
        parser.error("an exported model runs on the CPU as exported: --bf16 and --device cuda need PyTorch weights")
    device = args.device or ("cpu" if exported else default_device())
    model = init_detector(args.config, args.checkpoint, device=device, bf16=args.bf16, backend=args.backend)
    names = tuple(model.dataset_meta["classes"] or ())
    visualizer = DetLocalVisualizer.get_instance("image_demo", alpha=0.5)
    visualizer.dataset_meta = model.dataset_meta
    saved = []
    for path, img in tqdm(read_images(files), total=len(files), desc="detecting", unit="img"):
        result = inference_sliced(model, img, sliced) if sliced else inference_detector(model, img)
        result.pred_instances = class_filter(result.pred_instances, args.classes, names)
        out = targets[path]
        visualizer.add_datasample(
            path.stem, mmcv.bgr2rgb(img), result, draw_gt=False, pred_score_thr=args.score_thr, out_file=str(out)
        )
        saved.append(out)
    print(f"saved {len(saved)} image(s) to {args.out_dir}")
    return saved


if __name__ == "__main__":
    main()
