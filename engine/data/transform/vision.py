"""VisionTransform (fields dispatched by `order`), Compose, ToMode, Normalize, GaussianNoise.

Image transforms on NumPy HWC samples, named and behaving as MegEngine's (geometric ones
are in `geometry`, colour ones in `color`; TorchTransformCompose runs torchvision-style
transforms on PIL images).

A sample is a tuple whose fields `order` names (default `("image",)`): "image", "mask",
"boxes", "keypoints", "polygons", or anything ending in "category"/"info" (passed through).
Fields beyond `order` pass through unchanged. Random transforms draw from
`engine.data.seeding.current_rng()`, which a DataLoader seeds per batch.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..seeding import current_rng
from .meta_transform import Transform

_BOX_CORNERS = np.array([(0, 1), (2, 1), (0, 3), (2, 3)]).flatten()


class VisionTransform(Transform):
    """Dispatches each field of a sample to `_apply_<field name>` according to `order`."""

    def __init__(self, order: Sequence[str] | None = None) -> None:
        if order is None:
            order = ("image",)
        elif not isinstance(order, collections.abc.Sequence) or isinstance(order, str):
            raise ValueError(f"order should be a sequence of field names, got order={order!r}")
        for key in order:
            if key == "batch":
                raise ValueError(f"{key} is invalid data type")
            if key.endswith("category") or key.endswith("info"):
                continue
            if self._get_apply(key) is None:
                raise NotImplementedError(f"{key} is unsupported data type")
        self.order = tuple(order)

    def apply(self, input: Any) -> Any:  # noqa: A002 - MegEngine's argument name
        """Transform one sample (a tuple of fields, or a bare image)."""
        fields = input if isinstance(input, tuple) else (input,)
        output = []
        for key, value in zip(self.order, fields, strict=False):
            apply_field = self._get_apply(key)
            output.append(value if apply_field is None else apply_field(value))
        output.extend(fields[len(self.order) :])
        return output[0] if len(output) == 1 else tuple(output)

    def _get_apply(self, key: str) -> Any:
        return getattr(self, f"_apply_{key}", None)

    def _get_image(self, input: Any) -> np.ndarray:  # noqa: A002
        fields = input if isinstance(input, tuple) else (input,)
        image = np.asarray(fields[self.order.index("image")])
        if image.ndim != 3:
            raise ValueError(
                f"{type(self).__name__}: image must have 3 dims (H, W, C), got shape {image.shape}"
            )
        return image

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _apply_boxes(self, boxes: np.ndarray) -> np.ndarray:
        coords = np.asarray(boxes).reshape(-1, 4)[:, _BOX_CORNERS].reshape(-1, 2)
        coords = self._apply_coords(coords.copy()).reshape((-1, 4, 2))
        return np.concatenate((coords.min(axis=1), coords.max(axis=1)), axis=1)

    def _apply_keypoints(self, keypoints: np.ndarray) -> np.ndarray:
        keypoints = np.asarray(keypoints)
        coords, visibility = keypoints[..., :2], keypoints[..., 2:]
        moved = [self._apply_coords(p.copy()) for p in coords]
        return np.concatenate((moved, visibility), axis=-1)

    def _apply_polygons(self, polygons: list) -> list:
        return [[self._apply_coords(np.array(p)) for p in instance] for instance in polygons]


class ToMode(VisionTransform):
    """HWC image (and mask) to CHW, the layout convolutions take."""

    def __init__(self, mode: str = "CHW", *, order: Sequence[str] | None = None) -> None:
        super().__init__(order)
        if mode != "CHW":
            raise ValueError(f"unsupported mode: {mode} (ToMode converts HWC to 'CHW')")
        self.mode = mode

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(image, 2, 0))

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(mask, 2, 0))


class Compose(VisionTransform):
    """Several transforms in a row, sharing one `order`.

    With `batch_compose` each transform runs over the whole batch before the next one;
    `shuffle_indices` (1-based groups) shuffles the order of the transforms in each group.
    """

    def __init__(
        self,
        transforms: Sequence[Transform] = (),
        batch_compose: bool = False,
        shuffle_indices: Sequence[tuple] | None = None,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        super().__init__(order)
        self.transforms = list(transforms)
        self._set_order()
        if batch_compose and shuffle_indices is not None:
            raise ValueError("Do not support shuffle when apply transforms along the whole batch")
        self.batch_compose = batch_compose
        if shuffle_indices is not None:
            shuffle_indices = [tuple(x - 1 for x in group) for group in shuffle_indices]
        self.shuffle_indices = shuffle_indices

    def _set_order(self) -> None:
        for t in self.transforms:
            t.order = self.order
            if isinstance(t, Compose):
                t._set_order()

    def apply_batch(self, inputs: Sequence[Any]) -> tuple:
        """Each sample through all transforms (or, with batch_compose, transform by transform)."""
        if self.batch_compose:
            for t in self.transforms:
                inputs = t.apply_batch(inputs)
            return tuple(inputs)
        return super().apply_batch(inputs)

    def apply(self, input: Any) -> Any:  # noqa: A002
        """One sample through every transform in turn."""
        for t in self._shuffled():
            input = t.apply(input)  # noqa: A001
        return input

    def _shuffled(self) -> list[Transform]:
        if self.shuffle_indices is None:
            return self.transforms
        source = list(range(len(self.transforms)))
        for group in self.shuffle_indices:
            for src, dst in zip(group, current_rng().permutation(group).tolist(), strict=True):
                source[src] = dst
        return [self.transforms[i] for i in source]


class TorchTransformCompose(VisionTransform):
    """torchvision-style transforms (callables on PIL images) run on HWC BGR images.

    The image goes to an RGB PIL image (uint8), through each transform in turn, and back to
    a BGR array; a transform may also return an array, which is taken as it is. Needs Pillow.
    """

    def __init__(self, transforms: Sequence[Any], *, order: Sequence[str] | None = None):
        super().__init__(order)
        self.transforms = transforms

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        try:
            from PIL import Image
        except ImportError as err:
            raise ImportError("TorchTransformCompose needs Pillow: pip install pillow") from err
        image = np.asarray(image).astype(np.uint8)
        if image.shape[2] == 3:
            image = image[..., ::-1]  # BGR -> RGB
        if image.shape[2] == 1:
            image = image[..., 0]  # PIL takes a gray image as (H, W)
        picture: Any = Image.fromarray(np.ascontiguousarray(image))
        for t in self.transforms:
            picture = t(picture)
        out = np.array(picture, dtype=np.uint8)
        if out.ndim == 2:
            out = out[..., None]
        if out.shape[2] == 3:
            out = out[..., ::-1]  # RGB -> BGR
        return np.ascontiguousarray(out)


class Normalize(VisionTransform):
    """(image - mean) / std per channel, in float32."""

    def __init__(self, mean: Any = 0.0, std: Any = 1.0, *, order: Sequence[str] | None = None):
        super().__init__(order)
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        return (image - self.mean) / self.std

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return mask


class GaussianNoise(VisionTransform):
    """Add normal noise (mean, std, in units of 255) and clip to [0, 255] in the image dtype."""

    def __init__(self, mean: Any = 0.0, std: Any = 1.0, *, order: Sequence[str] | None = None):
        super().__init__(order)
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)

    def _apply_image(self, image: np.ndarray) -> np.ndarray:
        noise = current_rng().normal(self.mean, self.std, image.shape) * 255
        return np.clip(image + noise.astype(np.float32), 0, 255).astype(image.dtype)

    def _apply_coords(self, coords: np.ndarray) -> np.ndarray:
        return coords

    def _apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return mask


__all__ = [
    "Compose",
    "GaussianNoise",
    "Normalize",
    "ToMode",
    "TorchTransformCompose",
    "VisionTransform",
]
