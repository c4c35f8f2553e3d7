"""engine.data.transform: per-sample transforms for the DataLoader, as MegEngine names them."""

from . import functional
from .meta_transform import PseudoTransform, Transform
from .vision import (
    CenterCrop,
    Compose,
    GaussianNoise,
    Normalize,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToMode,
    VisionTransform,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "GaussianNoise",
    "Normalize",
    "Pad",
    "PseudoTransform",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ToMode",
    "Transform",
    "VisionTransform",
    "functional",
]
