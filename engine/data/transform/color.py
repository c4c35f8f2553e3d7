"""Colour transforms (brightness, contrast, saturation, hue, jitter, lighting), as MegEngine's.

Each draws one factor per sample from `engine.data.seeding.current_rng()` with the call
MegEngine makes on `np.random` (so a RandomState seeded alike replays MegEngine exactly),
works in float32 and clips to [0, 255] before returning the image's own dtype. Masks and
coordinates pass through unchanged. Images are BGR, as OpenCV reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..seeding import current_rng
from . import functional as F
from .vision import Compose, VisionTransform


class _ColorTransform(VisionTransform):
    """Shared by colour transforms: only the image changes."""

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return mask


def _non_negative(value: float, what: str) -> float:
    if value < 0:
        raise ValueError(f"{what} value should be non-negative")
    return value


def _draw_factor(value: float) -> float:
    """A factor drawn uniformly from [max(0, 1 - value), 1 + value]."""
    return current_rng().uniform(max(0, 1 - value), 1 + value)


def _back_to(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return image.clip(0, 255).astype(dtype)


class _BlendTransform(_ColorTransform):
    """A factor alpha from [max(0, 1 - value), 1 + value] per sample; 0 leaves images as
    they are. Subclasses blend the float32 pixels with alpha; the result is clipped."""

    what = ""  # the setting's name in errors

    def __init__(self, value: float, *, order: Sequence[str] | None = None) -> None:
        super().__init__(order)
        self.value = _non_negative(value, self.what)

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        if self.value == 0:
            return image
        alpha = _draw_factor(self.value)
        return _back_to(self._blend(image.astype(np.float32), alpha), image.dtype)

    def _blend(self, pixels: np.ndarray, alpha: float) -> np.ndarray:
        raise NotImplementedError


class BrightnessTransform(_BlendTransform):
    """Scale every pixel by a factor from [max(0, 1 - value), 1 + value]; 0 leaves it as is."""

    what = "brightness"

    def _blend(self, pixels: np.ndarray, alpha: float) -> np.ndarray:
        return pixels * np.float32(alpha)


class ContrastTransform(_BlendTransform):
    """Blend with the image's mean gray level: alpha * image + (1 - alpha) * mean(gray)."""

    what = "contrast"

    def _blend(self, pixels: np.ndarray, alpha: float) -> np.ndarray:
        mean = float(F.to_gray(pixels).mean())
        return pixels * np.float32(alpha) + np.float32(mean * (1 - alpha))


class SaturationTransform(_BlendTransform):
    """Blend with the image's own gray version: alpha * image + (1 - alpha) * gray."""

    what = "saturation"

    def _blend(self, pixels: np.ndarray, alpha: float) -> np.ndarray:
        return pixels * np.float32(alpha) + F.to_gray(pixels) * np.float32(1 - alpha)


class HueTransform(_ColorTransform):
    """Turn the hue by a share of the circle drawn from [-value, value] (value in [0, 0.5]).

    As MegEngine does, the image is cast to uint8, turned in OpenCV's full-range HSV (hue in
    0..255, wrapping around) and comes back with 3 channels in the input's dtype.
    """

    def __init__(self, value: float, *, order: Sequence[str] | None = None) -> None:
        super().__init__(order)
        if value < 0 or value > 0.5:
            raise ValueError("hue value should be in [0.0, 0.5]")
        self.value = value

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        if self.value == 0:
            return image
        hsv = F.bgr_to_hsv_full(image.astype(np.uint8))
        alpha = current_rng().uniform(-self.value, self.value)
        # NumPy 1.x's np.uint8(alpha * 255): truncate toward zero, wrap modulo 256
        hsv[..., 0] = (hsv[..., 0].astype(np.int64) + int(alpha * 255)) % 256
        return F.hsv_full_to_bgr(hsv).astype(image.dtype)


class ColorJitter(VisionTransform):
    """Brightness, contrast, saturation and hue changes (those not 0), in a random order."""

    def __init__(
        self,
        brightness: float = 0,
        contrast: float = 0,
        saturation: float = 0,
        hue: float = 0,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        steps = (
            (brightness, BrightnessTransform),
            (contrast, ContrastTransform),
            (saturation, SaturationTransform),
            (hue, HueTransform),
        )
        transforms = [make(value) for value, make in steps if value != 0]
        self.transforms = Compose(
            transforms, shuffle_indices=[tuple(range(1, len(transforms) + 1))], order=order
        )

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Run the chosen colour changes, shuffled per sample."""
        return self.transforms.apply(input)


class Lighting(_ColorTransform):
    """AlexNet's PCA lighting noise: add eigvec @ (alpha * eigval), alpha ~ N(0, scale * 255).

    The shift has one value per BGR channel; a gray (H, W, 1) image comes back with 3.
    """

    # ImageNet's RGB eigenvectors with the first dimension reversed for BGR, and eigenvalues
    eigvec = np.array(
        [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]]
    )
    eigval = np.array([0.2175, 0.0188, 0.0045])

    def __init__(self, scale: float, *, order: Sequence[str] | None = None) -> None:
        super().__init__(order)
        if scale < 0:
            raise ValueError("lighting scale should be non-negative")
        self.scale = scale

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        if self.scale == 0:
            return image
        alpha = current_rng().normal(scale=self.scale * 255, size=3)
        shift = self.eigvec.dot(alpha * self.eigval)  # float64, so the sum is float64 too
        return _back_to(image.astype(np.float32) + shift, image.dtype)


__all__ = [
    "BrightnessTransform",
    "ColorJitter",
    "ContrastTransform",
    "HueTransform",
    "Lighting",
    "SaturationTransform",
]
