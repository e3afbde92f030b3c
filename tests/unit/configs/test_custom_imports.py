"""``custom_imports`` of MMDetection's configs: ``mmpretrain.models`` (its ConvNeXt configs) is
skipped with a notice where mmpretrain is not installed, and ``mmpretrain.ConvNeXt`` is
mmcascade's ConvNeXt; any other failed import names the config and the module."""

import importlib.util

import pytest

from mmcascade.config.loading import load_tool_config
from mmcascade.models.backbones import ConvNeXt
from mmcascade.registry import MODELS


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "cfg.py"
    path.write_text(text)
    return str(path)


@pytest.mark.skipif(importlib.util.find_spec("mmpretrain") is not None, reason="mmpretrain itself is installed here")
def test_mmpretrain_convnext_without_mmpretrain(tmp_path):
    cfg = load_tool_config(
        _write(
            tmp_path,
            "custom_imports = dict(imports=['mmpretrain.models'], allow_failed_imports=False)\n"
            "backbone = dict(type='mmpretrain.ConvNeXt', arch='tiny', out_indices=[0, 1, 2, 3], "
            "gap_before_final_norm=False)\n",
        )
    )
    model = MODELS.build(cfg.backbone)
    assert type(model) is ConvNeXt and model.out_indices == (0, 1, 2, 3)


def test_other_failed_import_names_config_and_module(tmp_path):
    path = _write(tmp_path, "custom_imports = dict(imports=['no_such_package.models'])\n")
    with pytest.raises(ImportError, match=r"cfg\.py: custom_imports could not import 'no_such_package\.models'"):
        load_tool_config(path)
    allowed = _write(tmp_path, "custom_imports = dict(imports=['no_such_package.models'], allow_failed_imports=True)\n")
    assert load_tool_config(allowed).custom_imports.allow_failed_imports is True
