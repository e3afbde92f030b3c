"""What every detector here shares: backbone (+ neck) features, mmengine's ``forward`` modes,
the checks on losses and inputs, and inference under an autocast dtype."""

import contextlib
import copy
import functools
import warnings
from collections.abc import Iterator

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.structures import SampleList, valid_box_mask
from mmcascade.utils.options import check_block_keys


def with_stage_cfg(head_cfg: dict, train_cfg: dict | None, test_cfg: dict | None, key: str) -> dict:
    """``head_cfg`` with ``train_cfg[key]`` / ``test_cfg[key]`` as its own ``train_cfg`` / ``test_cfg``."""
    cfg = copy.deepcopy(dict(head_cfg))
    cfg["train_cfg"] = train_cfg.get(key) if train_cfg else None
    cfg["test_cfg"] = test_cfg.get(key) if test_cfg else None
    return cfg


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; raised before the optimizer step so no weight is spoiled."""


def drop_invalid_gts(samples: SampleList) -> SampleList:
    """Drop ground-truth boxes that are non-finite or have no area, warning with the image.

    Returns new samples; the caller's are not modified.
    """
    cleaned = []
    for sample in samples:
        gt = sample.gt_instances
        keep = valid_box_mask(gt.bboxes)
        if bool(keep.all()):
            cleaned.append(sample)
            continue
        bad = gt.bboxes[~keep].tolist()
        where = sample.metainfo.get("img_path", sample.metainfo.get("img_id", "?"))
        warnings.warn(
            f"{where}: dropped {len(bad)} ground-truth box(es) with no area or non-finite coordinates: {bad[:3]}",
            stacklevel=3,
        )
        new = sample.clone()
        new.gt_instances = gt[keep]
        cleaned.append(new)
    return cleaned


@functools.cache
def warn_if_no_cpu_bf16() -> bool:
    """Warn once when this CPU has no bfloat16 instructions (``avx512_bf16`` / ``amx_bf16`` in
    ``/proc/cpuinfo``): oneDNN then runs reference kernels, far slower than float32. Returns
    whether it warned."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return False
    warnings.warn(
        "inference_dtype='bfloat16' on a CPU without bf16 instructions (no avx512_bf16 / amx_bf16): "
        "convolutions run reference kernels, far slower than float32; use float32 here",
        stacklevel=3,
    )
    return True


INFERENCE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class BaseDetector(BaseModel):
    """Backbone and optional neck, ``forward(mode='loss' | 'predict' | 'tensor')``, the loss
    check of :meth:`parse_losses` and :meth:`inference_autocast`. Subclasses build their heads
    after ``super().__init__`` (the checkpoint keys follow: backbone, neck, heads) and call
    :meth:`finish_init`."""

    def __init__(
        self,
        backbone: dict,
        neck: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
        channels_last: bool = False,
        inference_dtype: str = "float32",
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if inference_dtype not in INFERENCE_DTYPES:
            raise ValueError(
                f"{type(self).__name__} inference_dtype={inference_dtype!r} is not one of {tuple(INFERENCE_DTYPES)}"
            )
        self.inference_dtype = inference_dtype
        self.channels_last = channels_last
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)

    def check_settings(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """Refuse blocks of ``train_cfg`` / ``test_cfg`` no head reads (a typo such as ``rnp``),
        naming the detector."""
        check_block_keys(f"{type(self).__name__} train_cfg", train_cfg, ("rpn", "rpn_proposal", "rcnn"))
        check_block_keys(f"{type(self).__name__} test_cfg", test_cfg, ("rpn", "rcnn"))

    def finish_init(self) -> None:
        """After the heads are built: move every conv to NHWC when ``channels_last`` (in-place
        initialisation and ``load_state_dict``'s copies keep the layout)."""
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    @property
    def with_neck(self) -> bool:
        return hasattr(self, "neck")

    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """``(N, 3, H, W)`` float32 batch -> multi-level features, finest first."""
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        feats = self.backbone(inputs)
        return self.neck(feats) if self.with_neck else feats

    def forward(self, inputs: Tensor, data_samples: SampleList | None = None, mode: str = "tensor"):
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self._forward(inputs, data_samples)
        raise RuntimeError(f"invalid mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    @contextlib.contextmanager
    def inference_autocast(self, inputs: Tensor) -> Iterator[None]:
        """``torch.autocast`` in ``inference_dtype`` (nothing for float32)."""
        dtype = INFERENCE_DTYPES[self.inference_dtype]
        if dtype is torch.bfloat16 and inputs.device.type == "cpu":
            warn_if_no_cpu_bf16()
        with torch.autocast(inputs.device.type, dtype=dtype, enabled=dtype is not torch.float32):
            yield

    def parse_losses(self, losses: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """mmengine's reduction of the loss dict, refusing NaN / inf terms with the iteration and
        the term named (raised before ``update_params``, so weights and checkpoints stay good)."""
        for name, value in losses.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if any(not bool(torch.isfinite(v).all()) for v in values):
                hub = MessageHub.get_current_instance()
                it = hub.get_info("iter")
                where = f"iteration {it + 1}" if it is not None else "this iteration"
                raise NonFiniteLossError(
                    f"{where}: loss term '{name}' is {[float(v) for v in values]}; training stopped "
                    "before the optimizer step. The last saved checkpoint is unaffected; lower the "
                    "learning rate or check the data of this batch, then resume with --resume."
                )
        return super().parse_losses(losses)
