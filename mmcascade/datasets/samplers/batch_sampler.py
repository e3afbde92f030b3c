"""Batches of images with the same orientation, so padding wastes little."""

from collections.abc import Iterator

from torch.utils.data import BatchSampler, Sampler

from mmcascade.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class AspectRatioBatchSampler(BatchSampler):
    """Group indices from ``sampler`` into portrait (w < h) and landscape buckets, as
    MMDetection's sampler does.

    A batch is yielded as soon as one bucket is full. What is left at the end of an epoch
    (portrait first, then landscape) is cut into batches; with ``drop_last`` its last batch is
    dropped, even when full (it is the mixed-orientation one), so that every batch yielded is
    one orientation whenever the left-overs fit in one batch.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        buckets: list[list[int]] = [[], []]
        dataset = self.sampler.dataset
        for idx in self.sampler:
            info = dataset.get_data_info(idx)
            bucket = buckets[0 if info["width"] < info["height"] else 1]
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                bucket.clear()
        left = buckets[0] + buckets[1]
        while left:
            batch, left = left[: self.batch_size], left[self.batch_size :]
            if left or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
