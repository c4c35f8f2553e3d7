"""engine.data.transform: per-sample transforms for the DataLoader, as MegEngine names them."""

from . import functional
from .geometry import (
    CenterCrop,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
)
from .meta_transform import PseudoTransform, Transform
from .vision import Compose, GaussianNoise, Normalize, ToMode, VisionTransform

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
