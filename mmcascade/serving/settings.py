"""What a server accepts and how it batches: one frozen type shared by the CLI and the API."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeSettings:
    """Limits and batching of ``mmcascade serve``.

    Attributes:
        max_batch_size: images run in one forward pass at most (requests arriving together).
        max_wait_ms: how long the first image of a batch waits for others.
        max_bytes: largest accepted image file, bytes (larger: 413).
        max_pixels: largest accepted image, width x height (larger: 413; checked from the file's
            header before it is decoded).
        max_images: images in one request at most.
        timeout_s: a request not answered in this time gets 504 (its images are still run).
        default_max_dets: detections per image when the request does not say (``max_dets``).
    """

    max_batch_size: int = 4
    max_wait_ms: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_images: int = 16
    timeout_s: float = 60.0
    default_max_dets: int = 100

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_bytes", "max_pixels", "max_images", "default_max_dets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ServeSettings: {name} must be at least 1, got {getattr(self, name)}")
        if self.max_wait_ms < 0 or self.timeout_s <= 0:
            raise ValueError("ServeSettings: max_wait_ms must be >= 0 and timeout_s > 0")
