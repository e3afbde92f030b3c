"""A tensor of boxes that knows its geometry: the container that pipelines hand to transforms.

:class:`BaseBoxes` wraps a ``(..., box_dim)`` tensor (``.tensor``) and forwards the tensor
operations that keep the last dimension whole (indexing, reshaping, device and dtype moves,
concatenation), returning a box object of the same type. Subclasses add the geometry: areas,
flips, clipping, rescaling. Inside the models boxes are plain tensors; these objects live in the
data pipeline, where MMDetection-style transforms call ``flip_``, ``rescale_``, ``clip_`` on them.
"""

from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from .box_type import convert_box_type

T = TypeVar("T", bound="BaseBoxes")
IndexType = Any  # int, slice, list, tuple, bool / int array or tensor, Ellipsis, None


class BaseBoxes(metaclass=ABCMeta):
    """Boxes of one kind as a ``(..., box_dim)`` tensor.

    Args:
        data: ``(..., box_dim)`` tensor, array or nested sequence; an empty input becomes
            ``(0, box_dim)``.
        dtype, device: moved to these when given.
        clone: copy the data (default), so in-place geometry never writes to the caller's tensor.
    """

    box_dim: int = 0

    def __init__(
        self,
        data: Tensor | np.ndarray | Sequence[Any],
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
        clone: bool = True,
    ) -> None:
        if not isinstance(data, (Tensor, np.ndarray, Sequence)):
            raise TypeError(f"boxes must be a tensor, an array or a sequence, got {type(data).__name__}")
        data = torch.as_tensor(data)
        if dtype is not None or device is not None:
            data = data.to(dtype=dtype, device=device)
        if clone:
            data = data.clone()
        if data.numel() == 0:
            data = data.reshape(0, self.box_dim)
        if data.dim() < 2 or data.shape[-1] != self.box_dim:
            raise ValueError(
                f"{type(self).__name__} needs a (..., {self.box_dim}) tensor, got shape {tuple(data.shape)}"
            )
        self.tensor = data

    # --- conversion and construction -------------------------------------------------------
    def convert_to(self, dst_type: str | type) -> "BaseBoxes":
        """These boxes as another registered box type."""
        converted: BaseBoxes = convert_box_type(self, dst_type=dst_type)
        return converted

    def empty_boxes(self: T, dtype: torch.dtype | None = None, device: str | torch.device | None = None) -> T:
        """``(0, box_dim)`` boxes of this type."""
        empty = self.tensor.new_zeros(0, self.box_dim, dtype=dtype, device=device)
        return type(self)(empty, clone=False)

    def fake_boxes(
        self: T,
        sizes: tuple[int, ...],
        fill: float = 0,
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
    ) -> T:
        """Boxes of this type of shape ``sizes`` (last entry ``box_dim``) all equal to ``fill``."""
        return type(self)(self.tensor.new_full(sizes, fill, dtype=dtype, device=device), clone=False)

    @classmethod
    def cat(cls: type[T], box_list: Sequence[T], dim: int = 0) -> T:
        """Concatenate boxes of this type along ``dim`` (not the box dimension)."""
        cls._check_same_type(box_list)
        if not box_list:
            raise ValueError("cat needs at least one box object")
        dim = cls._batch_dim(dim, box_list[0].dim())
        return cls(torch.cat([b.tensor for b in box_list], dim=dim), clone=False)

    @classmethod
    def stack(cls: type[T], box_list: Sequence[T], dim: int = 0) -> T:
        """Stack boxes of this type along a new dimension ``dim`` (before the box dimension)."""
        cls._check_same_type(box_list)
        if not box_list:
            raise ValueError("stack needs at least one box object")
        if dim == -1 or dim == box_list[0].dim():
            raise ValueError("boxes cannot be stacked along the box dimension")
        return cls(torch.stack([b.tensor for b in box_list], dim=dim), clone=False)

    @classmethod
    def _check_same_type(cls, box_list: Sequence["BaseBoxes"]) -> None:
        for b in box_list:
            if not isinstance(b, cls):
                raise TypeError(f"{cls.__name__}.cat / stack takes {cls.__name__} objects, got {type(b).__name__}")

    @staticmethod
    def _batch_dim(dim: int, ndim: int) -> int:
        if dim in (-1, ndim - 1):
            raise ValueError("this operation cannot act on the box dimension (the last one)")
        return dim

    # --- indexing ---------------------------------------------------------------------------
    def __getitem__(self: T, index: IndexType) -> T:
        boxes = self.tensor[self._as_index(index)]
        if boxes.dim() == 1:
            boxes = boxes.reshape(1, -1)
        return type(self)(boxes, clone=False)

    def __setitem__(self, index: IndexType, values: "BaseBoxes") -> None:
        if type(values) is not type(self):
            raise TypeError(
                f"values set into {type(self).__name__} must be {type(self).__name__}, got {type(values).__name__}"
            )
        self.tensor[self._as_index(index)] = values.tensor

    def _as_index(self, index: IndexType) -> Any:
        if isinstance(index, np.ndarray):
            index = torch.from_numpy(index).to(self.device)
        if isinstance(index, Tensor) and index.dtype == torch.bool and index.dim() >= self.dim():
            raise IndexError("a boolean index must leave the box dimension alone")
        if isinstance(index, tuple) and len(index) >= self.dim() and index[-1] not in (Ellipsis, slice(None)):
            raise IndexError("an index must leave the box dimension (the last one) whole")
        return index

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def __deepcopy__(self: T, memo: dict[int, Any]) -> T:
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.tensor = self.tensor.clone()
        return new

    def __repr__(self) -> str:
        return f"{type(self).__name__}(\n{self.tensor})"

    # --- tensor-like properties and moves ---------------------------------------------------
    def new_tensor(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.tensor.new_tensor(*args, **kwargs)

    def new_full(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.tensor.new_full(*args, **kwargs)

    def new_empty(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.tensor.new_empty(*args, **kwargs)

    def new_ones(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.tensor.new_ones(*args, **kwargs)

    def new_zeros(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.tensor.new_zeros(*args, **kwargs)

    def size(self, dim: int | None = None) -> torch.Size | int:
        return self.tensor.size() if dim is None else self.tensor.size(dim)

    def dim(self) -> int:
        return self.tensor.dim()

    def numel(self) -> int:
        return self.tensor.numel()

    @property
    def device(self) -> torch.device:
        return self.tensor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.tensor.dtype

    @property
    def shape(self) -> torch.Size:
        return self.tensor.shape

    def numpy(self) -> np.ndarray:
        """The boxes as a ``(..., box_dim)`` array (a copy, detached, on the CPU)."""
        return self.tensor.detach().cpu().numpy()

    def _wrap(self: T, tensor: Tensor) -> T:
        return type(self)(tensor, clone=False)

    def to(self: T, *args: Any, **kwargs: Any) -> T:
        return self._wrap(self.tensor.to(*args, **kwargs))

    def cpu(self: T) -> T:
        return self._wrap(self.tensor.cpu())

    def cuda(self: T, *args: Any, **kwargs: Any) -> T:
        return self._wrap(self.tensor.cuda(*args, **kwargs))

    def clone(self: T) -> T:
        return self._wrap(self.tensor.clone())

    def detach(self: T) -> T:
        return self._wrap(self.tensor.detach())

    # --- reshaping (the box dimension stays last and whole) ---------------------------------
    def view(self: T, *shape: int) -> T:
        return self._wrap(self.tensor.view(*shape))

    def reshape(self: T, *shape: int) -> T:
        return self._wrap(self.tensor.reshape(*shape))

    def expand(self: T, *sizes: int) -> T:
        return self._wrap(self.tensor.expand(*sizes))

    def repeat(self: T, *sizes: int) -> T:
        return self._wrap(self.tensor.repeat(*sizes))

    def transpose(self: T, dim0: int, dim1: int) -> T:
        last = self.dim() - 1
        if last in (dim0 % self.dim(), dim1 % self.dim()):
            raise ValueError("transpose cannot move the box dimension")
        return self._wrap(self.tensor.transpose(dim0, dim1))

    def permute(self: T, *dims: int) -> T:
        if dims[-1] % self.dim() != self.dim() - 1:
            raise ValueError("permute must keep the box dimension last")
        return self._wrap(self.tensor.permute(*dims))

    def split(self: T, split_size_or_sections: int | list[int], dim: int = 0) -> list[T]:
        dim = self._batch_dim(dim, self.dim())
        return [self._wrap(t) for t in torch.split(self.tensor, split_size_or_sections, dim=dim)]

    def chunk(self: T, chunks: int, dim: int = 0) -> list[T]:
        dim = self._batch_dim(dim, self.dim())
        return [self._wrap(t) for t in self.tensor.chunk(chunks, dim=dim)]

    def unbind(self: T, dim: int = 0) -> list[T]:
        dim = self._batch_dim(dim, self.dim())
        return [self._wrap(t) for t in self.tensor.unbind(dim=dim)]

    def flatten(self: T, start_dim: int = 0, end_dim: int = -2) -> T:
        self._batch_dim(end_dim, self.dim())
        return self._wrap(self.tensor.flatten(start_dim, end_dim))

    def squeeze(self: T, dim: int | None = None) -> T:
        boxes = self.tensor.squeeze() if dim is None else self.tensor.squeeze(dim)
        return self._wrap(boxes.reshape(-1, self.box_dim) if boxes.dim() < 2 else boxes)

    def unsqueeze(self: T, dim: int) -> T:
        if dim in (-1, self.dim()):
            raise ValueError("unsqueeze cannot add a dimension after the box dimension")
        return self._wrap(self.tensor.unsqueeze(dim))

    # --- geometry every box type provides ---------------------------------------------------
    @property
    @abstractmethod
    def centers(self) -> Tensor:
        """``(..., 2)`` box centres ``(x, y)``."""

    @property
    @abstractmethod
    def areas(self) -> Tensor:
        """``(...)`` box areas."""

    @property
    @abstractmethod
    def widths(self) -> Tensor:
        """``(...)`` box widths."""

    @property
    @abstractmethod
    def heights(self) -> Tensor:
        """``(...)`` box heights."""

    @abstractmethod
    def flip_(self, img_shape: tuple[int, int], direction: str = "horizontal") -> None:
        """Mirror in place inside an image of ``(height, width)``."""

    @abstractmethod
    def translate_(self, distances: tuple[float, float]) -> None:
        """Shift in place by ``(dx, dy)`` pixels."""

    @abstractmethod
    def clip_(self, img_shape: tuple[int, int]) -> None:
        """Clip in place to an image of ``(height, width)``."""

    @abstractmethod
    def rotate_(self, center: tuple[float, float], angle: float) -> None:
        """Rotate in place about ``center`` by ``angle`` degrees (as ``cv2.getRotationMatrix2D``)."""

    @abstractmethod
    def project_(self, homography_matrix: Tensor | np.ndarray) -> None:
        """Map in place through a ``(3, 3)`` homography."""

    @abstractmethod
    def rescale_(self, scale_factor: tuple[float, float]) -> None:
        """Scale coordinates in place by ``(w_scale, h_scale)`` (an image resize)."""

    @abstractmethod
    def resize_(self, scale_factor: tuple[float, float]) -> None:
        """Scale box sizes in place by ``(w_scale, h_scale)`` about each box's centre."""

    @abstractmethod
    def is_inside(self, img_shape: tuple[int, int], all_inside: bool = False, allowed_border: int = 0) -> Tensor:
        """``(...)`` bool: boxes overlapping (or, with ``all_inside``, inside) the image."""

    @abstractmethod
    def find_inside_points(self, points: Tensor, is_aligned: bool = False) -> Tensor:
        """``(P, N)`` bool (``(P,)`` when aligned): which points lie in which boxes."""

    @staticmethod
    @abstractmethod
    def overlaps(
        boxes1: "BaseBoxes", boxes2: "BaseBoxes", mode: str = "iou", is_aligned: bool = False, eps: float = 1e-6
    ) -> Tensor:
        """Pairwise (or aligned) overlaps of two box objects."""

    @staticmethod
    @abstractmethod
    def from_instance_masks(masks: Any) -> "BaseBoxes":
        """The boxes enclosing instance masks."""

    def __copy__(self: T) -> T:
        new = type(self).__new__(type(self))
        new.tensor = self.tensor
        return new
