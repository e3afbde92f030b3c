"""The box-type registry: names such as ``'hbox'`` for the box classes that pipelines carry, and
the converters between them. ``LoadAnnotations(box_type=...)`` looks its class up here.

The registry holds classes and functions only; it imports no box class, so the box classes can
register themselves (``@register_box('hbox')``) without an import cycle.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

#: registered box classes by lower-case name
box_types: dict[str, type] = {}
_names_by_class: dict[type, str] = {}
#: converters by ``'<src>2<dst>'``; each maps a ``(..., src_dim)`` tensor to ``(..., dst_dim)``
box_converters: dict[str, Callable[[Tensor], Tensor]] = {}
Converter = Callable[[Tensor], Tensor]


def register_box(name: str, box_type: type | None = None, force: bool = False) -> type | Callable[[type], type]:
    """Register a box class under ``name`` (case-insensitive); usable as a decorator.

    Args:
        name: the name configs use (``box_type='hbox'``).
        box_type: the class; omitted when used as ``@register_box(name)``.
        force: replace a class already registered under ``name``.
    """
    if not isinstance(name, str):
        raise TypeError(f"a box type's name must be a str, got {type(name).__name__}")

    def _register(cls: type) -> type:
        key = name.lower()
        if not force and (key in box_types or cls in _names_by_class):
            raise KeyError(f"box type {key!r} or class {cls.__name__} is already registered (force=True replaces it)")
        box_types[key] = cls
        _names_by_class[cls] = key
        return cls

    return _register if box_type is None else _register(box_type)


def register_box_converter(
    src_type: str | type, dst_type: str | type, converter: Converter | None = None, force: bool = False
) -> Any:
    """Register ``converter`` from ``src_type`` to ``dst_type`` boxes (names or registered classes);
    usable as a decorator. The converter maps the source tensor to the destination tensor."""

    def _register(func: Converter) -> Converter:
        src, _ = get_box_type(src_type)
        dst, _ = get_box_type(dst_type)
        key = f"{src}2{dst}"
        if not force and key in box_converters:
            raise KeyError(f"a converter {key!r} is already registered (force=True replaces it)")
        box_converters[key] = func
        return func

    return _register if converter is None else _register(converter)


def get_box_type(box_type: str | type) -> tuple[str, type]:
    """``(name, class)`` of a registered box type given either its name or its class."""
    if isinstance(box_type, str):
        key = box_type.lower()
        if key not in box_types:
            raise KeyError(f"box type {box_type!r} is not registered; known: {sorted(box_types)}")
        return key, box_types[key]
    if isinstance(box_type, type) and box_type in _names_by_class:
        return _names_by_class[box_type], box_type
    raise KeyError(f"{box_type!r} is not a registered box type; known: {sorted(box_types)}")


def convert_box_type(boxes: Any, *, src_type: str | type | None = None, dst_type: str | type | None = None) -> Any:
    """Convert boxes to ``dst_type``.

    A registered box object knows its own type (``src_type`` must then be omitted) and comes back
    as a ``dst_type`` object; a tensor or an array needs ``src_type`` and comes back as a tensor or an
    array of the destination layout.
    """
    if dst_type is None:
        raise ValueError("convert_box_type needs dst_type")
    dst_name, dst_cls = get_box_type(dst_type)
    is_box_object = type(boxes) in _names_by_class
    if is_box_object:
        if src_type is not None:
            raise ValueError("src_type is implied by a box object; pass it only with tensors and arrays")
        src_name = _names_by_class[type(boxes)]
        data = boxes.tensor
    else:
        if src_type is None:
            raise ValueError("a tensor or an array needs src_type")
        src_name, _ = get_box_type(src_type)
        if not isinstance(boxes, (np.ndarray, Tensor)):
            raise TypeError(f"boxes must be a tensor, an array or a box object, got {type(boxes).__name__}")
        data = boxes
    if src_name == dst_name:
        return boxes
    key = f"{src_name}2{dst_name}"
    if key not in box_converters:
        raise KeyError(f"no converter from {src_name!r} to {dst_name!r} boxes is registered")
    converter = box_converters[key]
    if is_box_object:
        return dst_cls(converter(data), clone=False)
    if isinstance(data, np.ndarray):
        return converter(torch.from_numpy(data)).numpy()
    return converter(data)
