"""Cityscapes instance-level AP (the benchmark's own evaluation, ``cityscapesscripts``) as an
mmengine metric, MMDetection's ``CityScapesMetric``: each image's masks are written in the
benchmark's result layout (a ``*_pred.txt`` listing one PNG per instance with its class id and
score), then matched against ``gtFine/*_gtFine_instanceIds.png``."""

import contextlib
import io
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmcascade.registry import METRICS
from mmcascade.structures import CroppedMasks

try:
    import cityscapesscripts.evaluation.evalInstanceLevelSemanticLabeling as cs_eval  # noqa: N813
    import cityscapesscripts.helpers.labels as cs_labels
except ImportError:  # an optional dependency: the extra 'cityscapes'
    cs_eval = cs_labels = None


def gt_instance_path(img_path: str) -> str:
    """``leftImg8bit/val/city/x_leftImg8bit.png`` -> ``gtFine/val/city/x_gtFine_instanceIds.png``."""
    return img_path.replace("leftImg8bit.png", "gtFine_instanceIds.png").replace("leftImg8bit", "gtFine")


@contextlib.contextmanager
def _numpy_in1d() -> Iterator[None]:
    """cityscapesscripts (2.2, 2.3) calls ``np.in1d``, which numpy 2.4 removed: supplied as the
    flattened ``np.isin`` it was, for the evaluation only."""
    if hasattr(np, "in1d"):
        yield
        return
    np.in1d = lambda a, b, assume_unique=False, invert=False: np.isin(  # type: ignore[attr-defined]
        a, b, assume_unique=assume_unique, invert=invert
    ).ravel()
    try:
        yield
    finally:
        del np.in1d


def _fresh_folder(path: str) -> str:
    """``path``, or ``path.1``, ``path.2``... the first that is absent or empty; created."""
    candidate, n = path, 0
    while osp.isdir(candidate) and os.listdir(candidate):
        n += 1
        candidate = f"{path}.{n}"
    if candidate != path:
        print_log(f"CityScapesMetric: {path} holds earlier results; writing to {candidate}", logger="current")
    os.makedirs(candidate, exist_ok=True)
    return candidate


@METRICS.register_module()
class CityScapesMetric(BaseMetric):
    """Cityscapes instance AP: ``mAP`` (IoU 0.5:0.05:0.95) and ``AP@50``, named
    ``cityscapes/mAP`` and ``cityscapes/AP@50``.

    Args:
        outfile_prefix: the result files go to ``{outfile_prefix}/results/``, or when that holds
            files already (an earlier run's) to ``results.1/``, ``results.2/``... (nothing is
            deleted; an evaluation replaces only this metric's own files); None: a temporary folder.
        seg_prefix: the ``gtFine`` folder (needed to evaluate; the ground truth of an image is
            found from its path, ``leftImg8bit`` -> ``gtFine``).
        format_only: write the result files for the benchmark server without evaluating.
        dump_matches: also write the benchmark's ``matches.json`` into the results folder.
        collect_device, prefix: mmengine's.

    Needs ``cityscapesscripts`` (``pip install cityscapesscripts``, the ``cityscapes`` extra).
    """

    default_prefix = "cityscapes"

    def __init__(
        self,
        outfile_prefix: str | None = None,
        seg_prefix: str | None = None,
        format_only: bool = False,
        collect_device: str = "cpu",
        prefix: str | None = None,
        dump_matches: bool = False,
        backend_args: dict | None = None,
    ) -> None:
        if cs_eval is None:
            raise RuntimeError("CityScapesMetric needs cityscapesscripts: pip install cityscapesscripts")
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and outfile_prefix is None:
            raise ValueError("CityScapesMetric: format_only needs outfile_prefix (where the result files go)")
        if not format_only and seg_prefix is None:
            raise ValueError("CityScapesMetric: seg_prefix (the gtFine folder) is needed to evaluate")
        if backend_args is not None:
            raise ValueError("CityScapesMetric reads local files only (cityscapesscripts); leave backend_args unset")
        self._tmp = tempfile.TemporaryDirectory() if outfile_prefix is None else None
        self.out_dir = _fresh_folder(
            osp.join(self._tmp.name if self._tmp else osp.expanduser(outfile_prefix), "results")
        )
        self.seg_prefix, self.format_only, self.dump_matches = seg_prefix, format_only, dump_matches

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            sample = sample.to_dict() if hasattr(sample, "to_dict") else sample
            pred = sample["pred_instances"]
            if "masks" not in pred:
                raise ValueError(
                    "CityScapesMetric evaluates instance masks: the model predicted none (a box-only model)"
                )
            stem = osp.splitext(osp.basename(sample["img_path"]))[0]
            txt = self._write_image(stem, pred)
            self.results.append(dict(pred_txt=txt, gt=gt_instance_path(sample["img_path"])))

    def _write_image(self, stem: str, pred: dict) -> str:
        """One image's PNG per instance and its ``_pred.txt``; returns the txt's path."""
        masks, labels = pred["masks"], pred["labels"].cpu().numpy()
        scores = pred.get("mask_scores", pred["scores"]).cpu().numpy()
        lines = []
        for i, (label, score) in enumerate(zip(labels, scores)):
            name = self.dataset_meta["classes"][label]
            mask = masks.mask(i) if isinstance(masks, CroppedMasks) else np.asarray(masks[i].cpu())
            png = f"{stem}_{i}_{name}.png"
            cv2.imwrite(self._own(png), mask.astype(np.uint8))
            lines.append(f"{png} {cs_labels.name2label[name].id} {float(score)}\n")
        txt = self._own(f"{stem}_pred.txt")
        with open(txt, "w") as f:
            f.writelines(lines)
        return txt

    def _own(self, name: str) -> str:
        """A file of this metric's results folder."""
        return osp.join(self.out_dir, name)

    def compute_metrics(self, results: list) -> dict[str, float]:
        if self.format_only:
            print_log(
                f"Cityscapes result files written to {self.out_dir} (format_only: not evaluated)", logger="current"
            )
            return OrderedDict()
        args = cs_eval.args
        args.JSONOutput, args.colorized, args.quiet = False, False, True
        args.gtInstancesFile = self._own("gtInstances.json")
        if osp.exists(args.gtInstancesFile):
            os.remove(args.gtInstancesFile)  # its own cache of an earlier evaluation: the images may differ
        preds, gts = [r["pred_txt"] for r in results], [r["gt"] for r in results]
        missing = [g for g in gts if not osp.isfile(g)]
        if missing:
            raise FileNotFoundError(
                f"CityScapesMetric: {len(missing)} ground-truth file(s) not found, e.g. {missing[0]} "
                f"(seg_prefix {self.seg_prefix}: gtFine/<split>/<city>/*_gtFine_instanceIds.png)"
            )
        args.predictionPath = osp.abspath(self.out_dir)
        log = io.StringIO()
        try:  # cityscapesscripts prints its errors and exits
            with contextlib.redirect_stdout(log), _numpy_in1d():
                cs_eval.setInstanceLabels(args)
                gt_instances = cs_eval.getGtInstances(gts, args)
                matches = cs_eval.matchGtWithPreds(preds, gts, gt_instances, args)
                if self.dump_matches:
                    cs_eval.writeDict2JSON(matches, self._own("matches.json"))
                averages = cs_eval.computeAverages(cs_eval.evaluateMatches(matches, args), args)
        except SystemExit:
            raise RuntimeError(f"cityscapesscripts stopped: {log.getvalue().strip()[-500:]}") from None
        print_log(f"Cityscapes instance AP {averages['allAp']:.4f}, AP50 {averages['allAp50%']:.4f}", logger="current")
        return OrderedDict([("mAP", float(averages["allAp"])), ("AP@50", float(averages["allAp50%"]))])
