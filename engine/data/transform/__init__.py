"""engine.data.transform: per-sample transforms for the DataLoader, as MegEngine names them."""

from . import functional
from .color import (
    BrightnessTransform,
    ColorJitter,
    ContrastTransform,
    HueTransform,
    Lighting,
    SaturationTransform,
)
from .geometry import (
    CenterCrop,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ShortestEdgeResize,
)
from .meta_transform import PseudoTransform, Transform
from .vision import (
    Compose,
    GaussianNoise,
    Normalize,
    ToMode,
    TorchTransformCompose,
    VisionTransform,
)

__all__ = [
    "BrightnessTransform",
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "ContrastTransform",
    "GaussianNoise",
    "HueTransform",
    "Lighting",
    "Normalize",
    "Pad",
    "PseudoTransform",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "SaturationTransform",
    "ShortestEdgeResize",
    "ToMode",
    "TorchTransformCompose",
    "Transform",
    "VisionTransform",
    "functional",
]
