"""``torchvision://NAME`` pretrained weights without torchvision installed.

mmengine resolves that scheme by importing torchvision, which has no CPU build here; the
ImageNet weights themselves are plain state_dict files at fixed addresses, so we map the names
to those addresses and load them through mmengine's http loader (``weights_only``).
"""

from mmengine.runner import CheckpointLoader

_BASE = "https://download.pytorch.org/models/"
TORCHVISION_URLS = {
    "resnet18": _BASE + "resnet18-f37072fd.pth",
    "resnet34": _BASE + "resnet34-b627a593.pth",
    "resnet50": _BASE + "resnet50-0676ba61.pth",
    "resnet101": _BASE + "resnet101-63fe2227.pth",
    "resnet152": _BASE + "resnet152-394f9c45.pth",
    "resnext50_32x4d": _BASE + "resnext50_32x4d-7cdf4587.pth",
    "resnext101_32x8d": _BASE + "resnext101_32x8d-8ba56ff5.pth",
}


def torchvision_url(filename: str) -> str:
    """The download address of ``torchvision://NAME``."""
    name = filename[len("torchvision://") :]
    if name not in TORCHVISION_URLS:
        raise KeyError(f"unknown torchvision model '{name}'; known: {sorted(TORCHVISION_URLS)}")
    return TORCHVISION_URLS[name]


@CheckpointLoader.register_scheme(prefixes="torchvision://", force=True)
def load_from_torchvision_url(filename: str, map_location=None):
    return CheckpointLoader.load_checkpoint(torchvision_url(filename), map_location=map_location)
