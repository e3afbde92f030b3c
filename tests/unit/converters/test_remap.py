"""Reordering a checkpoint's classes: which rows move, and a round trip."""

import pytest
import torch

from mmcascade.converters.remap import class_permutation, remap_state


def test_class_permutation_and_refusals():
    assert class_permutation(["cat", "dog", "bird"], ["dog", "bird", "cat"]) == [1, 2, 0]
    with pytest.raises(ValueError, match=r"in the config only \['cow'\], in the checkpoint only \['bird'\]"):
        class_permutation(["cat", "dog", "bird"], ["dog", "cow", "cat"])


def test_remap_moves_class_rows_and_keeps_background_last():
    c = 3
    state = {
        "roi_head.bbox_head.0.fc_cls.weight": torch.arange(4 * 2.0).reshape(c + 1, 2),
        "roi_head.bbox_head.0.fc_cls.bias": torch.arange(4.0),
        "roi_head.bbox_head.0.fc_reg.weight": torch.arange(4.0 * 5).reshape(4, 5),  # class-agnostic: kept
        "roi_head.bbox_head.1.fc_reg.bias": torch.arange(4.0 * c),  # class-specific: moved by fours
        "roi_head.mask_head.0.conv_logits.weight": torch.arange(c * 2.0).reshape(c, 2, 1, 1),
        "backbone.conv1.weight": torch.ones(3, 3),  # 3 rows, but not a class layer
    }
    perm = [2, 0, 1]
    out = remap_state(state, perm)
    assert out["roi_head.bbox_head.0.fc_cls.bias"].tolist() == [2.0, 0.0, 1.0, 3.0]
    assert torch.equal(out["roi_head.bbox_head.0.fc_reg.weight"], state["roi_head.bbox_head.0.fc_reg.weight"])
    assert out["roi_head.bbox_head.1.fc_reg.bias"].tolist() == [8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7]
    assert out["roi_head.mask_head.0.conv_logits.weight"][:, 0, 0, 0].tolist() == [4.0, 0.0, 2.0]
    assert torch.equal(out["backbone.conv1.weight"], state["backbone.conv1.weight"])
    back = remap_state(out, class_permutation(["c", "a", "b"], ["a", "b", "c"]))  # the inverse order
    assert all(torch.equal(back[k], v) for k, v in state.items())
