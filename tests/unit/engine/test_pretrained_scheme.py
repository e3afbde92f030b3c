"""``torchvision://`` resolves to the published ImageNet weights without torchvision."""

import pytest
from mmengine.runner import CheckpointLoader

import mmcascade.engine  # noqa: F401  (registers the scheme)
from mmcascade.engine import torchvision_url


def test_names_map_to_download_addresses():
    assert torchvision_url("torchvision://resnet50").endswith("/resnet50-0676ba61.pth")
    with pytest.raises(KeyError, match="known"):
        torchvision_url("torchvision://vgg16")


def test_loader_is_ours_and_goes_through_http(monkeypatch):
    seen = []
    original = CheckpointLoader._get_checkpoint_loader("https://x")
    monkeypatch.setitem(CheckpointLoader._schemes, "https://", lambda f, map_location=None: seen.append(f) or {})
    monkeypatch.setitem(CheckpointLoader._schemes, "http://", lambda f, map_location=None: seen.append(f) or {})
    CheckpointLoader.load_checkpoint("torchvision://resnet101")
    assert seen == ["https://download.pytorch.org/models/resnet101-63fe2227.pth"]
    assert original is not None
