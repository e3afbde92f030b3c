"""Draw ground truth and predictions (boxes, labels, scores, translucent masks) on an image."""

import cv2
import numpy as np
from mmengine.visualization import Visualizer

from mmcascade.config.class_names import make_palette
from mmcascade.registry import VISUALIZERS
from mmcascade.structures import CroppedMasks, DetDataSample
from mmcascade.utils.options import check_extra_options

from .palette import get_palette

MATPLOTLIB_MAX_PIXELS = 4096 * 4096
"""Larger images are drawn with OpenCV (boxes, labels) and numpy (masks) alone."""


def blend_masks(image: np.ndarray, masks, colors: list[tuple[int, int, int]], alpha: float) -> np.ndarray:
    """A copy of ``image`` (HWC uint8) with each mask's pixels blended with its colour
    (``(1 - alpha) * pixel + alpha * colour``, in order), touching only the mask's window.

    Args:
        masks: ``(N, H, W)`` bool (tensor or array), :class:`BitmapMasks` or :class:`CroppedMasks`.
    """
    if not isinstance(masks, CroppedMasks):
        bitmaps = masks.masks if hasattr(masks, "masks") else masks
        bitmaps = bitmaps.cpu().numpy() if hasattr(bitmaps, "cpu") else np.asarray(bitmaps)
        masks = CroppedMasks.from_bitmaps(bitmaps.astype(bool))
    out = image.copy()
    for i, color in enumerate(colors):
        crop, x, y = masks.visible(i)
        if not crop.any():
            continue
        region = out[y : y + crop.shape[0], x : x + crop.shape[1]]
        pixels = region[crop].astype(np.float32)
        region[crop] = np.clip(np.rint(pixels * (1 - alpha) + np.float32(color) * alpha), 0, 255).astype(np.uint8)
    return out


def draw_boxes_cv2(
    image: np.ndarray, boxes: np.ndarray, texts: list[str], colors: list[tuple[int, int, int]]
) -> np.ndarray:
    """Draw ``boxes (N, 4)`` xyxy with their labels on ``image`` (HWC uint8, modified and
    returned); line width and text grow with the image so that they stay readable when shrunk."""
    thickness = max(2, round(max(image.shape[:2]) / 1500))
    scale = thickness * 0.6
    for box, text, color in zip(boxes, texts, colors):
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, thickness // 2))
        cv2.rectangle(image, (x1, y1), (x1 + tw + 2, y1 + th + base + 2), color, -1)
        cv2.putText(
            image, text, (x1 + 1, y1 + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, thickness // 2)
        )
    return image


@VISUALIZERS.register_module()
class DetLocalVisualizer(Visualizer):
    """mmengine ``Visualizer`` for detections; ``dataset_meta`` gives class names and palette.

    Args:
        alpha: opacity of the mask fills.
        line_width: box line width in pixels.
    """

    def __init__(
        self,
        name: str = "visualizer",
        image: np.ndarray | None = None,
        vis_backends: list | None = None,
        save_dir: str | None = None,
        alpha: float = 0.5,
        line_width: float = 2,
        **kwargs,
    ) -> None:
        check_extra_options(
            type(self).__name__, kwargs, dict(bbox_color=None, mask_color=None, text_color=(200, 200, 200))
        )
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.alpha = alpha
        self.line_width = line_width
        self.dataset_meta: dict = {}

    def _colors(self, labels: np.ndarray) -> list[tuple[int, int, int]]:
        """One RGB colour per label from ``dataset_meta['palette']``: a colour list, or a spec
        :func:`~mmcascade.visualization.palette.get_palette` reads (``'random'``, ``'coco'``...)."""
        num = max(int(labels.max(initial=0)) + 1, len(self.dataset_meta.get("classes") or ()), 1)
        palette = self.dataset_meta.get("palette")
        if palette is None:
            palette = make_palette(num)
        elif not isinstance(palette, list):
            palette = get_palette(palette, num)
        return [tuple(int(c) for c in palette[int(lb) % len(palette)]) for lb in labels]

    def draw_instances(self, image: np.ndarray, instances, score_thr: float = 0.0) -> np.ndarray:
        """Return ``image`` (RGB, HWC uint8) with ``instances`` drawn on it (a new array).

        Masks may be ``(N, H, W)`` bool or :class:`~mmcascade.structures.CroppedMasks`; each is
        blended into its own window only. Images of more than :data:`MATPLOTLIB_MAX_PIXELS`
        pixels are drawn with OpenCV instead of matplotlib, whose canvas would take several
        times the image's memory.
        """
        if "scores" in instances:
            instances = instances[instances.scores > score_thr]
        large = image.shape[0] * image.shape[1] > MATPLOTLIB_MAX_PIXELS
        if len(instances) == 0:
            if large:
                return image.copy()
            self.set_image(image)
            return self.get_image()
        labels = instances.labels.cpu().numpy()
        colors = self._colors(labels)
        classes = self.dataset_meta.get("classes")
        if "masks" in instances:
            image = blend_masks(image, instances.masks, colors, self.alpha)
        boxes = instances.bboxes.cpu().numpy()
        scores = instances.scores.cpu().numpy() if "scores" in instances else None
        texts = []
        for i, label in enumerate(labels):
            text = classes[label] if classes is not None and label < len(classes) else f"class {label}"
            texts.append(text + (f" {scores[i]:.2f}" if scores is not None else ""))
        if large:
            return draw_boxes_cv2(image if "masks" in instances else image.copy(), boxes, texts, colors)
        self.set_image(image)
        self.draw_bboxes(boxes, edge_colors=colors, line_widths=self.line_width, alpha=0.9)
        for box, text, color in zip(boxes, texts, colors):
            self.draw_texts(
                text,
                box[:2] + 1,
                colors="white",
                font_sizes=9,
                bboxes=[dict(facecolor=np.array(color) / 255, alpha=0.75, pad=0.5, edgecolor="none")],
            )
        return self.get_image()

    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample: DetDataSample | None = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        out_file: str | None = None,
        pred_score_thr: float = 0.3,
        step: int = 0,
    ) -> np.ndarray:
        """Draw ground truth (left) and predictions (right) side by side; save to ``out_file``
        (BGR file via mmcv) or to the visualiser's backends."""
        import mmcv

        panels = []
        if data_sample is not None and draw_gt and "gt_instances" in data_sample:
            panels.append(self.draw_instances(image, data_sample.gt_instances))
        if data_sample is not None and draw_pred and "pred_instances" in data_sample:
            panels.append(self.draw_instances(image, data_sample.pred_instances, pred_score_thr))
        drawn = np.concatenate(panels, axis=1) if panels else image
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
