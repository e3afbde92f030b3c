"""Region proposals alone: MMDetection's ``RPN`` detector (backbone, neck, RPN head), trained on
its own and evaluated by proposal recall (``CocoMetric(metric='proposal_fast')``); its proposals
can be dumped for a Fast R-CNN (``DumpProposals``)."""

import warnings

from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.structures import SampleList

from .base import BaseDetector, drop_invalid_gts, with_stage_cfg


@MODELS.register_module()
class RPN(BaseDetector):
    """Backbone + neck + an RPN head whose proposals are the predictions (``bboxes``, ``scores``,
    ``labels`` all 0: "object").

    The head is the module ``bbox_head`` (MMDetection's checkpoint keys); a two-stage detector's
    checkpoint (``rpn_head.*``) loads into it. ``train_cfg.rpn`` / ``test_cfg.rpn`` go to the head.
    """

    def __init__(
        self,
        backbone: dict,
        neck: dict | None,
        rpn_head: dict,
        train_cfg: dict | None,
        test_cfg: dict,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
        channels_last: bool = False,
        inference_dtype: str = "float32",
    ) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, channels_last, inference_dtype)
        self.check_settings(train_cfg, test_cfg)
        rpn_head = dict(rpn_head)
        if rpn_head.get("num_classes", 1) != 1:
            warnings.warn(
                f"RPN: rpn_head.num_classes={rpn_head['num_classes']} set to 1 (proposals are class-agnostic)",
                stacklevel=2,
            )
            rpn_head["num_classes"] = 1
        self.bbox_head = MODELS.build(with_stage_cfg(rpn_head, train_cfg, test_cfg, "rpn"))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.finish_init()

    def _forward(self, inputs: Tensor, data_samples: SampleList | None = None) -> tuple:
        """Raw outputs: the RPN's objectness and deltas per level."""
        return self.bbox_head(self.extract_feat(inputs))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict[str, Tensor]:
        """The RPN's losses (every ground-truth box an object, whatever its class)."""
        return self.bbox_head.loss(self.extract_feat(inputs), drop_invalid_gts(data_samples))

    def predict(self, inputs: Tensor, data_samples: SampleList, rescale: bool = True) -> SampleList:
        """Adds the proposals as ``pred_instances`` (original-image pixels when ``rescale``)."""
        with self.inference_autocast(inputs):
            results = self.bbox_head.predict(self.extract_feat(inputs), data_samples, rescale=rescale)
        for sample, result in zip(data_samples, results):
            sample.pred_instances = result
        return data_samples

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """A two-stage detector's ``rpn_head.*`` weights as this RPN's ``bbox_head.*``."""
        head, rpn = prefix + "bbox_head.", prefix + "rpn_head."
        if not any(k.startswith(head) for k in state_dict):
            for key in [k for k in state_dict if k.startswith(rpn)]:
                state_dict[head + key[len(rpn) :]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
