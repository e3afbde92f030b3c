"""Draw ground truth and predictions (boxes, labels, scores, translucent masks) on an image."""

import numpy as np
from mmengine.visualization import Visualizer

from mmcascade.datasets.coco_classes import make_palette
from mmcascade.registry import VISUALIZERS
from mmcascade.structures import DetDataSample
from mmcascade.utils.options import check_extra_options


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
        palette = self.dataset_meta.get("palette") or make_palette(max(int(labels.max(initial=0)) + 1, 1))
        return [tuple(int(c) for c in palette[int(lb) % len(palette)]) for lb in labels]

    def draw_instances(self, image: np.ndarray, instances, score_thr: float = 0.0) -> np.ndarray:
        """Return ``image`` (RGB, HWC uint8) with ``instances`` drawn on it."""
        self.set_image(image)
        if "scores" in instances:
            instances = instances[instances.scores > score_thr]
        if len(instances) == 0:
            return self.get_image()
        labels = instances.labels.cpu().numpy()
        colors = self._colors(labels)
        classes = self.dataset_meta.get("classes")
        if "masks" in instances:
            masks = instances.masks
            masks = masks.masks if hasattr(masks, "masks") else masks.cpu().numpy()
            self.draw_binary_masks(masks.astype(bool), colors=colors, alphas=self.alpha)
        boxes = instances.bboxes.cpu().numpy()
        self.draw_bboxes(boxes, edge_colors=colors, line_widths=self.line_width, alpha=0.9)
        scores = instances.scores.cpu().numpy() if "scores" in instances else None
        for i, (box, label) in enumerate(zip(boxes, labels)):
            text = classes[label] if classes is not None and label < len(classes) else f"class {label}"
            if scores is not None:
                text += f" {scores[i]:.2f}"
            self.draw_texts(
                text,
                box[:2] + 1,
                colors="white",
                font_sizes=9,
                bboxes=[dict(facecolor=np.array(colors[i]) / 255, alpha=0.75, pad=0.5, edgecolor="none")],
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
