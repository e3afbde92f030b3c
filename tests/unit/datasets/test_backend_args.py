"""``backend_args`` reaches the storage backend in the dataset, the image loader, the metric
and the visualisation hook: a counting backend registered with mmengine records each read."""

from collections import Counter
from contextlib import contextmanager

import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.structures import InstanceData

from mmcascade.datasets import CocoDataset
from mmcascade.engine import DetVisualizationHook
from mmcascade.evaluation import CocoMetric
from mmcascade.structures import DetDataSample

from helpers.coco_fixtures import write_fixture

CALLS: Counter = Counter()


class CountingBackend(LocalBackend):
    """The local disk, counting what is asked of it."""

    def get(self, filepath):
        CALLS["get"] += 1
        return super().get(filepath)

    def exists(self, filepath):
        CALLS["exists"] += 1
        return super().exists(filepath)

    @contextmanager
    def get_local_path(self, filepath):
        CALLS["get_local_path"] += 1
        with super().get_local_path(filepath) as path:
            yield path


register_backend("counting", CountingBackend, force=True)
BACKEND = dict(backend="counting")


def test_backend_args_are_used_everywhere(tmp_path):
    ann = write_fixture(str(tmp_path))
    CALLS.clear()
    ds = CocoDataset(
        ann_file=ann,
        data_prefix=dict(img=str(tmp_path)),
        metainfo=dict(classes=("cat", "dog")),
        backend_args=BACKEND,
        pipeline=[
            dict(type="LoadImageFromFile", backend_args=BACKEND),
            dict(type="LoadAnnotations", with_bbox=True),
            dict(type="PackDetInputs"),
        ],
    )
    assert CALLS["get_local_path"] == 1 and CALLS["exists"] == 2  # the annotation file, each image checked
    sample = ds[0]["data_samples"]
    assert CALLS["get"] == 1
    metric = CocoMetric(ann_file=ann, backend_args=BACKEND)
    metric.coco  # noqa: B018 (reads the annotation file)
    assert CALLS["get_local_path"] == 2
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[10.0, 5, 30, 35]]), scores=torch.ones(1), labels=torch.zeros(1, dtype=torch.long)
    )
    from mmcascade.visualization import DetLocalVisualizer

    DetLocalVisualizer.get_instance("backend_args_vis")
    hook = DetVisualizationHook(draw=True, backend_args=BACKEND, test_out_dir=None)
    hook._draw(
        DetDataSample(metainfo=sample.metainfo, pred_instances=sample.pred_instances),
        "a.png",
        str(tmp_path / "drawn.png"),
        0,
    )
    assert CALLS["get"] == 2 and (tmp_path / "drawn.png").exists()
