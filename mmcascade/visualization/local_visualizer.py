"""Draw ground truth and predictions (boxes, labels, scores, translucent masks) on an image."""

import cv2
import numpy as np
from mmengine.visualization import Visualizer

from mmcascade.config.class_names import make_palette
from mmcascade.registry import VISUALIZERS
from mmcascade.structures import CroppedMasks, DetDataSample

from .palette import get_adaptive_scales, get_palette, jitter_color

MATPLOTLIB_MAX_PIXELS = 4096 * 4096
"""Larger images are drawn with OpenCV (boxes, labels) and numpy (masks) alone."""


def blend_masks(image: np.ndarray, masks, colors: list[tuple[int, int, int]], alpha: float) -> np.ndarray:
    """A copy of ``image`` (HWC uint8) with each mask's pixels blended with its colour
    (``(1 - alpha) * pixel + alpha * colour``, in order), touching only the mask's window.

    Args:
        masks: ``(N, H, W)`` bool (tensor or array), :class:`BitmapMasks`, :class:`PolygonMasks`
            or :class:`CroppedMasks`.
    """
    if not isinstance(masks, CroppedMasks):
        bitmaps = masks.to_ndarray() if hasattr(masks, "to_ndarray") else masks  # Bitmap / PolygonMasks
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
    image: np.ndarray,
    boxes: np.ndarray,
    texts: list[str],
    colors: list[tuple[int, int, int]],
    text_colors: list[tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """Draw ``boxes (N, 4)`` xyxy with their labels on ``image`` (HWC uint8, modified and
    returned); line width and text grow with the image so that they stay readable when shrunk.
    Labels are written in ``text_colors`` (default white) on black."""
    thickness = max(2, round(max(image.shape[:2]) / 1500))
    scale = thickness * 0.6
    text_colors = text_colors or [(255, 255, 255)] * len(texts)
    for box, text, color, text_color in zip(boxes, texts, colors, text_colors):
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, thickness // 2))
        cv2.rectangle(image, (x1, y1), (x1 + tw + 2, y1 + th + base + 2), (0, 0, 0), -1)
        cv2.putText(
            image, text, (x1 + 1, y1 + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, text_color, max(1, thickness // 2)
        )
    return image


TEXT_BACKGROUND = dict(facecolor="black", alpha=0.8, pad=0.7, edgecolor="none")


@VISUALIZERS.register_module()
class DetLocalVisualizer(Visualizer):
    """mmengine ``Visualizer`` for detections; ``dataset_meta`` gives class names and palette.
    MMDetection's arguments, defaults and drawing: each box in its class's colour, its label
    ``'name: 95.3'`` (score in percent) above it on black, masks blended in a jittered class colour.

    Args:
        bbox_color: box colours: None (the dataset's palette), one colour (a name or an RGB
            tuple), a list of colours per class, or ``'random'`` / ``'coco'`` / ``'voc'`` /
            ``'citys'`` (:func:`~mmcascade.visualization.palette.get_palette`).
        text_color: label colours, the same kinds (default light grey ``(200, 200, 200)``).
        mask_color: mask colours, the same kinds (None: the dataset's palette); each instance's
            colour is jittered so that neighbours of one class differ.
        line_width: box line width in pixels.
        alpha: opacity of the boxes and mask fills.
    """

    def __init__(
        self,
        name: str = "visualizer",
        image: np.ndarray | None = None,
        vis_backends: list | None = None,
        save_dir: str | None = None,
        bbox_color: str | tuple | list | None = None,
        text_color: str | tuple | list | None = (200, 200, 200),
        mask_color: str | tuple | list | None = None,
        line_width: float = 3,
        alpha: float = 0.8,
    ) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.bbox_color = bbox_color
        self.text_color = text_color
        self.mask_color = mask_color
        self.alpha = alpha
        self.line_width = line_width
        self.dataset_meta: dict = {}

    def _colors(self, labels: np.ndarray, spec: str | tuple | list | None = None) -> list[tuple[int, int, int]]:
        """One RGB colour per label from ``spec`` (None: ``dataset_meta['palette']``): a colour
        list, or a spec :func:`~mmcascade.visualization.palette.get_palette` reads (``'random'``,
        ``'coco'``, a colour name or tuple...)."""
        num = max(int(labels.max(initial=0)) + 1, len(self.dataset_meta.get("classes") or ()), 1)
        palette = self.dataset_meta.get("palette") if spec is None else spec
        if palette is None:
            palette = make_palette(num)
        elif not isinstance(palette, list):
            palette = get_palette(palette, int(labels.max(initial=0)) + 1)
        return [tuple(int(c) for c in palette[int(lb) % len(palette)]) for lb in labels]

    def _label_texts(self, instances, labels: np.ndarray) -> list[str]:
        classes = self.dataset_meta.get("classes")
        scores = instances.scores.cpu().numpy() if "scores" in instances else None
        texts = []
        for i, label in enumerate(labels):
            text = classes[label] if classes is not None and label < len(classes) else f"class {label}"
            texts.append(text + (f": {round(float(scores[i]) * 100, 1)}" if scores is not None else ""))
        return texts

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
        colors, text_colors = self._colors(labels, self.bbox_color), self._colors(labels, self.text_color)
        if "masks" in instances:
            mask_colors = [jitter_color(c) for c in self._colors(labels, self.mask_color)]
            image = blend_masks(image, instances.masks, mask_colors, self.alpha)
        boxes = instances.bboxes.cpu().numpy()
        texts = self._label_texts(instances, labels)
        if large:
            return draw_boxes_cv2(image if "masks" in instances else image.copy(), boxes, texts, colors, text_colors)
        self.set_image(image)
        self.draw_bboxes(boxes, edge_colors=colors, alpha=self.alpha, line_widths=self.line_width)
        scales = get_adaptive_scales((boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0]))
        for box, text, color, scale in zip(boxes, texts, text_colors, scales):
            self.draw_texts(
                text, box[:2] + self.line_width, colors=color, font_sizes=int(13 * scale), bboxes=[TEXT_BACKGROUND]
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
