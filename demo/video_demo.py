"""Detect objects in a video and write the drawn frames to a new video.

    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out out.mp4 [--score-thr 0.3] [--frame-step 1]

Frames are read and written with OpenCV (``cv2.VideoCapture`` / ``cv2.VideoWriter``, mp4v for
``.mp4``, MJPG for ``.avi``); with ``--frame-step N`` every N-th frame is detected and written.
"""

import argparse
import os.path as osp
import sys

import cv2
import mmcv
from tqdm import tqdm

from mmcascade.apis import inference_detector, init_detector
from mmcascade.utils import default_device
from mmcascade.visualization import DetLocalVisualizer

FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("config", help="config file or model-zoo name")
    parser.add_argument("checkpoint", help="checkpoint file, URL or model-zoo name")
    parser.add_argument("--out", required=True, help="output video (.mp4 or .avi)")
    parser.add_argument("--score-thr", type=float, default=0.3)
    parser.add_argument("--frame-step", type=int, default=1)
    parser.add_argument("--device", default=default_device(), help="default: cuda when available, else cpu")
    args = parser.parse_args(argv)
    if osp.exists(args.out) and osp.exists(args.video) and osp.samefile(args.out, args.video):
        parser.error(f"--out {args.out} is the input video: it would be overwritten")
    suffix = osp.splitext(args.out)[1].lower()
    if suffix not in FOURCC:
        parser.error(f"--out must end in {sorted(FOURCC)}")
    reader = cv2.VideoCapture(args.video)
    if not reader.isOpened():
        print(f"error: cannot open video {args.video} (missing, or a codec OpenCV lacks)", file=sys.stderr)
        return 2
    fps = reader.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(reader.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    model = init_detector(args.config, args.checkpoint, device=args.device)
    visualizer = DetLocalVisualizer.get_instance("video_demo", alpha=0.5)
    visualizer.dataset_meta = model.dataset_meta
    writer, index, written = None, 0, 0
    with tqdm(total=total, desc="frames", unit="frame") as bar:
        while True:
            ok, frame = reader.read()
            if not ok:
                break
            if index % args.frame_step == 0:
                result = inference_detector(model, frame)
                drawn = visualizer.add_datasample(
                    "frame", mmcv.bgr2rgb(frame), result, draw_gt=False, pred_score_thr=args.score_thr, out_file=None
                )
                if writer is None:
                    h, w = drawn.shape[:2]
                    writer = cv2.VideoWriter(
                        args.out, cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps / args.frame_step, (w, h)
                    )
                writer.write(mmcv.rgb2bgr(drawn))
                written += 1
            index += 1
            bar.update(1)
    reader.release()
    if writer is not None:
        writer.release()
    print(f"wrote {written} frame(s) to {args.out}")
    return 0 if written else 2


if __name__ == "__main__":
    sys.exit(main())
