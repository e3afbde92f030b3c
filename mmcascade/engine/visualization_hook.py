"""Draw validation / test predictions: every ``interval`` images in validation, all of them in
testing when ``draw=True`` (``tools/test.py --show-dir``)."""

import os.path as osp

import mmcv
from mmengine.fileio import get
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from mmcascade.registry import HOOKS


@HOOKS.register_module()
class DetVisualizationHook(Hook):
    """Args:
    draw: enable drawing (off by default: it costs time).
    interval: draw every ``interval``-th validation image.
    score_thr: hide predictions below this score.
    test_out_dir: folder (under the run's work dir) for the test pictures.
    backend_args: mmengine file-backend arguments for reading the images to draw on.
    """

    def __init__(
        self,
        draw: bool = False,
        interval: int = 50,
        score_thr: float = 0.3,
        show: bool = False,
        wait_time: float = 0.0,
        test_out_dir: str | None = None,
        backend_args: dict | None = None,
    ) -> None:
        self.draw = draw
        self.interval = interval
        self.score_thr = score_thr
        self.show = show
        self.wait_time = wait_time
        self.test_out_dir = test_out_dir
        self.backend_args = backend_args
        self._test_index = 0
        self._test_names: set[str] = set()

    def _draw(self, sample, name: str, out_file: str | None, step: int) -> None:
        img = mmcv.imfrombytes(get(sample.img_path, backend_args=self.backend_args), channel_order="rgb")
        Visualizer.get_current_instance().add_datasample(
            name,
            img,
            sample,
            show=self.show,
            wait_time=self.wait_time,
            pred_score_thr=self.score_thr,
            out_file=out_file,
            step=step,
        )

    def _unique_name(self, name: str) -> str:
        """``name``, or ``stem_1.ext``, ``stem_2.ext``... when an earlier image had it (``a/x.jpg``
        and ``b/x.jpg`` in one dataset): one picture per image, none overwritten."""
        stem, ext = osp.splitext(name)
        candidate, n = name, 0
        while candidate in self._test_names:
            n += 1
            candidate = f"{stem}_{n}{ext}"
        self._test_names.add(candidate)
        return candidate

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict, outputs) -> None:
        if not self.draw:
            return
        total = runner.iter + batch_idx
        if total % self.interval == 0:
            self._draw(outputs[0], osp.basename(outputs[0].img_path), None, total)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict, outputs) -> None:
        if not self.draw:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
        for sample in outputs:
            self._test_index += 1
            name = self._unique_name(osp.basename(sample.img_path))
            out_file = osp.join(out_dir, name) if out_dir else None
            self._draw(sample, name, out_file, self._test_index)
