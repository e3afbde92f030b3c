"""Backbone + neck + RPN + RoI head, as an mmengine ``BaseModel``."""

import copy
import functools
import warnings

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import Tensor

from mmcascade.ops.nms import check_nms_cfg
from mmcascade.registry import MODELS
from mmcascade.structures import SampleList, valid_box_mask
from mmcascade.utils.options import check_block_keys

from ..dense_heads.rpn_head import PROPOSAL_KEYS


def _with_stage_cfg(head_cfg: dict, train_cfg: dict | None, test_cfg: dict | None, key: str) -> dict:
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


@MODELS.register_module()
class TwoStageDetector(BaseModel):
    """Two-stage detector: ``forward(mode='loss' | 'predict' | 'tensor')``.

    ``train_cfg.rpn`` / ``test_cfg.rpn`` go to the RPN, ``train_cfg.rcnn`` / ``test_cfg.rcnn``
    to the RoI head, ``train_cfg.rpn_proposal`` sets the proposals used for training.

    ``channels_last=True`` keeps conv weights and the backbone / FPN / RPN activations in NHWC
    layout (``torch.channels_last``): the same network and, up to float rounding, the same
    outputs, but oneDNN convolutions on CPU skip their layout reorders (a batch-2 800x1216
    training step of cascade_rcnn_r50_fpn: see the README's benchmarks). Off by default.

    ``inference_dtype='bfloat16'`` (or ``'float16'``) runs ``predict`` under ``torch.autocast``:
    convolutions and linear layers in that dtype, the heads' outputs, box decoding, NMS and mask
    pasting in float32. Training is unaffected. ``init_detector(..., bf16=True)`` and the tools'
    ``--bf16`` set it.
    """

    def __init__(
        self,
        backbone: dict,
        rpn_head: dict,
        roi_head: dict,
        neck: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
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
        check_block_keys(f"{type(self).__name__} train_cfg", train_cfg, ("rpn", "rpn_proposal", "rcnn"))
        check_block_keys(f"{type(self).__name__} test_cfg", test_cfg, ("rpn", "rcnn"))
        if train_cfg and train_cfg.get("rpn_proposal"):
            check_block_keys("train_cfg.rpn_proposal", train_cfg["rpn_proposal"], PROPOSAL_KEYS)
            check_nms_cfg("train_cfg.rpn_proposal", train_cfg["rpn_proposal"].get("nms"))
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.rpn_head = MODELS.build(_with_stage_cfg(rpn_head, train_cfg, test_cfg, "rpn"))
        self.roi_head = MODELS.build(_with_stage_cfg(roi_head, train_cfg, test_cfg, "rcnn"))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.channels_last = channels_last
        if channels_last:
            # In-place initialisation and load_state_dict (copy_) keep this layout.
            self.to(memory_format=torch.channels_last)

    @property
    def with_neck(self) -> bool:
        return hasattr(self, "neck")

    @property
    def with_mask(self) -> bool:
        return self.roi_head.with_mask

    @property
    def with_bbox(self) -> bool:
        return self.roi_head.with_bbox

    @property
    def with_shared_head(self) -> bool:
        return self.roi_head.with_shared_head

    @property
    def with_rpn(self) -> bool:
        return getattr(self, "rpn_head", None) is not None

    @property
    def with_roi_head(self) -> bool:
        return getattr(self, "roi_head", None) is not None

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

    def _forward(self, inputs: Tensor, data_samples: SampleList | None = None) -> tuple:
        """Raw outputs: FPN features and RPN maps (for FLOPs counting and export)."""
        feats = self.extract_feat(inputs)
        return feats, self.rpn_head(feats)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict[str, Tensor]:
        """RPN and RoI-head losses of a batch."""
        data_samples = drop_invalid_gts(data_samples)
        feats = self.roi_feature_layout(self.extract_feat(inputs))
        proposal_cfg = self.train_cfg.get("rpn_proposal", self.test_cfg["rpn"])
        rpn_losses, proposals = self.rpn_head.loss_and_predict(feats, data_samples, proposal_cfg)
        losses = dict(rpn_losses)
        losses.update(self.roi_head.loss(feats, proposals, data_samples))
        return losses

    def predict(
        self, inputs: Tensor, data_samples: SampleList, rescale: bool = True, mask_format: str | None = None
    ) -> SampleList:
        """Adds ``pred_instances`` to each sample (boxes in the original image when ``rescale``).
        ``mask_format`` (``'auto'``, ``'bitmap'``, ``'cropped'``) overrides ``test_cfg.rcnn.mask_format``
        for this call."""
        dtype = INFERENCE_DTYPES[self.inference_dtype]
        if dtype is torch.bfloat16 and inputs.device.type == "cpu":
            warn_if_no_cpu_bf16()
        with torch.autocast(inputs.device.type, dtype=dtype, enabled=dtype is not torch.float32):
            feats = self.roi_feature_layout(self.extract_feat(inputs))
            proposals = self.rpn_head.predict(feats, data_samples)
            results = self.roi_head.predict(feats, proposals, data_samples, rescale=rescale, mask_format=mask_format)
        for sample, result in zip(data_samples, results):
            sample.pred_instances = result
        return data_samples

    def roi_feature_layout(self, feats: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """The FPN maps in the layout the RoI head pools from fastest (NHWC for the torch
        RoIAlign), converted once, before the RPN (whose convolutions take either layout), so that
        only one copy of each map is kept for the backward pass."""
        return self.roi_head.pooling_layout(feats)

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
