"""Geometric image transforms (pad, resize, crop, flip) on HWC samples, as MegEngine's.

Each moves the image, masks and coordinates (boxes, keypoints, polygons) together; random
ones draw from `engine.data.seeding.current_rng()`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..seeding import current_rng
from . import functional as F
from .vision import VisionTransform


class Pad(VisionTransform):
    """Pad by `size` (int, (bottom, right) or (top, bottom, left, right)) with `value`."""

    def __init__(
        self,
        size: int | Sequence[int] = 0,
        value: Any = 0,
        mask_value: int = 0,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.size = F.pad_sizes(size)
        self.value = value
        if not isinstance(mask_value, int):
            raise ValueError(f"mask_value should be an integer, got mask_value={mask_value!r}")
        self.mask_value = mask_value

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        return F.pad(image, self.size, self.value)

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        coords[:, 0] += self.size[2]
        coords[:, 1] += self.size[0]
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return F.pad(mask, self.size, self.mask_value)


class _Resizing(VisionTransform):
    """Shared by transforms that scale the image to a target (th, tw) chosen per sample."""

    interpolation: Any = F.INTER_LINEAR

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Pick the target size from this sample's image, then transform every field."""
        image = self._get_image(input)
        self._shape_info = (*image.shape[:2], *self._target(image))
        return super().apply(input)

    def _target(self, image: np.ndarray) -> tuple[int, int]:
        raise NotImplementedError

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        h, w, th, tw = self._shape_info
        return image if (h, w) == (th, tw) else F.resize(image, (th, tw), self.interpolation)

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        h, w, th, tw = self._shape_info
        if (h, w) != (th, tw):
            coords[:, 0] = coords[:, 0] * (tw / w)
            coords[:, 1] = coords[:, 1] * (th / h)
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        h, w, th, tw = self._shape_info
        return mask if (h, w) == (th, tw) else F.resize(mask, (th, tw), F.INTER_NEAREST)


class Resize(_Resizing):
    """Resize to (h, w), or with an int, so that the shorter side has that length."""

    def __init__(
        self,
        output_size: int | Sequence[int],
        interpolation: Any = F.INTER_LINEAR,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.output_size = output_size
        self.interpolation = interpolation

    def _target(self, image: np.ndarray) -> tuple[int, int]:
        h, w = image.shape[:2]
        size = self.output_size
        if not isinstance(size, (int, np.integer)):
            return int(size[0]), int(size[1])
        if min(h, w) == size:
            return h, w
        if h < w:
            return int(size), int(size * w / h)
        return int(size * h / w), int(size)


class RandomResize(_Resizing):
    """Resize by a scale drawn uniformly from `scale_range`."""

    def __init__(
        self,
        scale_range: Sequence[float],
        interpolation: Any = F.INTER_LINEAR,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.scale_range = scale_range
        self.interpolation = interpolation

    def _target(self, image: np.ndarray) -> tuple[int, int]:
        h, w = image.shape[:2]
        scale = current_rng().uniform(*self.scale_range)
        return int(round(h * scale)), int(round(w * scale))


class ShortestEdgeResize(_Resizing):
    """Resize so the shorter side gets a drawn length, unless the longer then exceeds max_size.

    The length is drawn from [min_size[0], min_size[1]] ("range") or from min_size
    ("choice"); an int min_size means that length always.
    """

    def __init__(
        self,
        min_size: int | Sequence[int],
        max_size: int,
        sample_style: str = "range",
        interpolation: Any = F.INTER_LINEAR,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        if sample_style not in ("range", "choice"):
            raise NotImplementedError(f"{sample_style} is unsupported sample style")
        self.sample_style = sample_style
        self.min_size = (min_size, min_size) if isinstance(min_size, int) else tuple(min_size)
        self.max_size = max_size
        self.interpolation = interpolation

    def _target(self, image: np.ndarray) -> tuple[int, int]:
        h, w = image.shape[:2]
        rng = current_rng()
        if self.sample_style == "range":
            size = int(rng.integers(self.min_size[0], self.min_size[1] + 1))
        else:
            size = int(rng.choice(self.min_size))
        scale = size / min(h, w)
        th, tw = (size, scale * w) if h < w else (scale * h, size)
        if max(th, tw) > self.max_size:
            shrink = self.max_size / max(th, tw)
            th, tw = th * shrink, tw * shrink
        return int(round(th)), int(round(tw))


class _Cropping(VisionTransform):
    """Shared by crops: a window (x, y) of `output_size` cut from image, mask and coords."""

    output_size: tuple[int, int]
    _x = _y = 0

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        th, tw = self.output_size
        return image[self._y : self._y + th, self._x : self._x + tw]

    _apply_mask = _apply_image

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        coords[:, 0] -= self._x
        coords[:, 1] -= self._y
        return coords


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(size)


class CenterCrop(_Cropping):
    """Cut the central `output_size` window (the image must be at least that large)."""

    def __init__(self, output_size: int | Sequence[int], *, order: Sequence[str] | None = None):
        super().__init__(order)
        self.output_size = _pair(output_size)

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Centre the window on this sample's image, then crop every field."""
        th, tw = self.output_size
        h, w = self._get_image(input).shape[:2]
        if th > h or tw > w:
            raise ValueError(
                f"CenterCrop: output size {(th, tw)} is bigger than image size {(h, w)}"
            )
        self._x, self._y = int(round((w - tw) / 2.0)), int(round((h - th) / 2.0))
        return super().apply(input)


class RandomCrop(_Cropping):
    """Pad by `padding_size`, then cut a random `output_size` window (padding if too small)."""

    def __init__(
        self,
        output_size: int | Sequence[int],
        padding_size: int | Sequence[int] = 0,
        padding_value: Any = (0, 0, 0),
        padding_maskvalue: int = 0,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.output_size = _pair(output_size)
        self.pad = Pad(padding_size, padding_value, order=self.order)
        self.padding_value = padding_value
        self.padding_maskvalue = padding_maskvalue

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Pad, draw the window's corner, then crop every field."""
        self.pad.order = self.order
        input = self.pad.apply(input)  # noqa: A001
        h, w = self._get_image(input).shape[:2]
        th, tw = self.output_size
        self._short = (max(0, th - h), max(0, tw - w))
        rng = current_rng()
        self._x = int(rng.integers(0, max(0, w - tw) + 1))
        self._y = int(rng.integers(0, max(0, h - th) + 1))
        return super().apply(input)

    def _fill(self, image: np.ndarray, value: Any) -> np.ndarray:
        dh, dw = self._short
        return F.pad(image, (dh, dw), value) if dh or dw else image

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        return super()._apply_image(self._fill(image, self.padding_value))

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return super()._apply_image(self._fill(mask, self.padding_maskvalue))


class RandomResizedCrop(VisionTransform):
    """Cut a random window (area share from `scale_range`, aspect from `ratio_range`), then
    resize it to `output_size`; after 10 failed draws, a centred window of a valid ratio."""

    def __init__(
        self,
        output_size: int | Sequence[int],
        scale_range: Sequence[float] = (0.08, 1.0),
        ratio_range: Sequence[float] = (3.0 / 4, 4.0 / 3),
        interpolation: Any = F.INTER_LINEAR,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.output_size = _pair(output_size)
        if scale_range[0] > scale_range[1] or ratio_range[0] > ratio_range[1]:
            raise ValueError(
                f"scale_range and ratio_range must be (min, max), got {scale_range}, {ratio_range}"
            )
        self.scale_range = tuple(scale_range)
        self.ratio_range = tuple(ratio_range)
        self.interpolation = interpolation

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Draw this sample's window, then crop and resize every field."""
        self._window = self._draw(*self._get_image(input).shape[:2])
        return super().apply(input)

    def _draw(self, height: int, width: int, attempts: int = 10) -> tuple[int, int, int, int]:
        rng = current_rng()
        log_ratio = (math.log(self.ratio_range[0]), math.log(self.ratio_range[1]))
        for _ in range(attempts):
            area = rng.uniform(*self.scale_range) * height * width
            aspect = math.exp(rng.uniform(*log_ratio))
            w = int(round(math.sqrt(area * aspect)))
            h = int(round(math.sqrt(area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return (
                    int(rng.integers(0, width - w + 1)),
                    int(rng.integers(0, height - h + 1)),
                    w,
                    h,
                )
        ratio = width / height
        if ratio < min(self.ratio_range):
            w, h = width, int(round(width / min(self.ratio_range)))
        elif ratio > max(self.ratio_range):
            w, h = int(round(height * max(self.ratio_range))), height
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        x, y, w, h = self._window
        return F.resize(image[y : y + h, x : x + w], self.output_size, self.interpolation)

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        x, y, w, h = self._window
        return F.resize(mask[y : y + h, x : x + w], self.output_size, F.INTER_NEAREST)

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        x, y, w, h = self._window
        coords[:, 0] = (coords[:, 0] - x) * self.output_size[1] / w
        coords[:, 1] = (coords[:, 1] - y) * self.output_size[0] / h
        return coords


class _RandomFlip(VisionTransform):
    """Flip along one axis with probability `prob` (decided once per sample)."""

    _axis = 1  # 1: left-right (x), 0: upside down (y)

    def __init__(self, prob: float = 0.5, *, order: Sequence[str] | None = None) -> None:
        super().__init__(order)
        self.prob = prob

    def apply(self, input: Any) -> Any:  # noqa: A002
        """Decide whether this sample flips, then flip every field."""
        self._flipped = current_rng().random() < self.prob
        self._extent = self._get_image(input).shape[self._axis]
        return super().apply(input)

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        return F.flip(image, self._axis) if self._flipped else image

    _apply_mask = _apply_image

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        if self._flipped:
            column = 0 if self._axis == 1 else 1
            coords[:, column] = self._extent - coords[:, column]
        return coords


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability `prob`."""

    _axis = 1


class RandomVerticalFlip(_RandomFlip):
    """Mirror upside down with probability `prob`."""

    _axis = 0


__all__ = [
    "CenterCrop",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ShortestEdgeResize",
]
