"""engine.data.transform gives MegEngine 1.13's results (recorded there, with OpenCV inside).

Images: IMG is a (4, 5, 3) uint8 ramp, FIMG the same shape in float32 (k / 7), GRAY a
(3, 4, 1) float32 ramp. Each expected list was printed by MegEngine's own transform.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine.data.transform as T
from engine.data.seeding import drawing_from

IMG = (np.arange(60).reshape(4, 5, 3) * 3 % 256).astype(np.uint8)
FIMG = (np.arange(60).reshape(4, 5, 3) / 7.0).astype(np.float32)
GRAY = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
BOX = np.array([[0.0, 1.0, 2.0, 3.0]], dtype=np.float32)


def test_pad_matches_megengine() -> None:
    out = T.Pad(1, value=5).apply(IMG)
    assert out.shape == (6, 7, 3) and out.dtype == np.uint8
    assert out[1, 1:-1, 1].tolist() == [3, 12, 21, 30, 39]  # MegEngine's row 1, channel 1
    assert out[1:-1, 1:-1].tolist() == IMG.tolist()
    out = T.Pad((1, 2), value=[7, 8, 9]).apply(IMG)  # (bottom, right)
    assert (
        out[0].tolist()
        == [[0, 3, 6], [9, 12, 15], [18, 21, 24], [27, 30, 33], [36, 39, 42]] + [[7, 8, 9]] * 2
    )
    out = T.Pad(1, value=1.5).apply(IMG)
    assert out.dtype == np.float32
    out = T.Pad((1, 0, 2, 1), value=3).apply(GRAY)[..., 0]
    assert out.tolist() == [
        [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0],
        [3.0, 3.0, 0.0, 1.0, 2.0, 3.0, 3.0],
        [3.0, 3.0, 4.0, 5.0, 6.0, 7.0, 3.0],
        [3.0, 3.0, 8.0, 9.0, 10.0, 11.0, 3.0],
    ]


def test_pad_scalar_fills_every_channel() -> None:
    # on purpose unlike MegEngine, whose OpenCV call fills channel 0 only ([5, 0, 0])
    assert T.Pad(1, value=5).apply(IMG)[0, 0].tolist() == [5, 5, 5]


def test_resize_bilinear_matches_opencv() -> None:
    got = T.Resize((3, 7)).apply(FIMG)
    assert got.shape == (3, 7, 3) and got.dtype == np.float32
    want = [
        [0.35714287, 0.60204083, 0.9081633, 1.2142857, 1.5204082, 1.8265307, 2.0714285],
        [3.2142856, 3.4591837, 3.765306, 4.0714283, 4.377551, 4.6836734, 4.9285717],
        [6.0714283, 6.3163266, 6.622449, 6.928571, 7.234694, 7.540816, 7.7857146],
    ]
    np.testing.assert_allclose(got[..., 0], want, rtol=1e-6)
    up = T.Resize((5, 6)).apply(GRAY)[..., 0]
    np.testing.assert_allclose(
        up,
        [
            [0.0, 0.5, 1.1666666, 1.8333333, 2.5, 3.0],
            [1.6, 2.1, 2.7666667, 3.4333334, 4.1, 4.6],
            [4.0, 4.5, 5.1666665, 5.8333335, 6.5, 7.0],
            [6.4, 6.9, 7.566667, 8.233334, 8.9, 9.4],
            [8.0, 8.5, 9.166667, 9.833333, 10.5, 11.0],
        ],
        rtol=1e-6,
    )
    u8 = T.Resize((3, 7)).apply(IMG)[..., 0]  # OpenCV's fixed-point rounding: within 1
    want_u8 = [
        [7, 13, 19, 25, 32, 38, 43],
        [68, 73, 79, 86, 92, 98, 104],
        [127, 133, 139, 145, 152, 158, 163],
    ]
    assert u8.dtype == np.uint8
    assert np.abs(u8.astype(int) - want_u8).max() <= 1


def test_resize_nearest_sizes_masks_and_boxes() -> None:
    near = T.Resize((3, 7), interpolation=0).apply(FIMG)[..., 0]
    np.testing.assert_allclose(
        near[0], [0.0, 0.0, 0.42857143, 0.85714287, 0.85714287, 1.2857143, 1.7142857], rtol=1e-6
    )
    np.testing.assert_allclose(near[:, 0], [0.0, 2.142857, 4.285714], rtol=1e-6)
    assert T.Resize(2).apply(FIMG).shape == (2, 2, 3)  # shorter side to 2
    assert T.Resize(8).apply(FIMG).shape == (8, 10, 3)
    image, mask = T.Resize((3, 7), order=("image", "mask")).apply((FIMG, FIMG[..., :1]))
    np.testing.assert_allclose(mask[..., 0], near, rtol=1e-6)  # masks use nearest
    _, boxes = T.Resize((6, 8), order=("image", "boxes")).apply((GRAY, BOX.copy()))
    assert boxes.tolist() == [[0.0, 2.0, 4.0, 6.0]]


def test_crops_modes_and_normalize() -> None:
    center = T.CenterCrop((2, 3)).apply(FIMG)[..., 0]
    np.testing.assert_allclose(
        center, [[2.5714285, 3.0, 3.4285715], [4.714286, 5.142857, 5.571429]], rtol=1e-6
    )
    assert T.CenterCrop(3).apply(IMG).shape == (3, 3, 3)
    image, boxes, category = T.CenterCrop(2, order=("image", "boxes", "image_category")).apply(
        (GRAY, BOX.copy(), 5)
    )
    assert image[..., 0].tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert boxes.tolist() == [[-1.0, 1.0, 1.0, 3.0]] and category == 5
    chw = T.ToMode().apply(FIMG)
    assert chw.shape == (3, 4, 5) and chw.flags.c_contiguous
    np.testing.assert_array_equal(chw[1], FIMG[..., 1])
    norm = T.Normalize(mean=[1.0, 2.0, 3.0], std=[2.0, 4.0, 0.5]).apply(FIMG)
    assert norm.dtype == np.float32
    np.testing.assert_allclose(norm[0, 0], [-0.5, -0.4642857, -5.428571], rtol=1e-6)
    u8 = T.Normalize(mean=3, std=2).apply(IMG)
    assert u8.dtype == np.float32 and u8[0, 0].tolist() == [-1.5, 0.0, 1.5]


def test_compose_keeps_extra_fields_and_batches() -> None:
    compose = T.Compose([T.Normalize(1.0, 2.0), T.ToMode()])
    image, label = compose.apply((FIMG, 3))
    assert image.shape == (3, 4, 5) and label == 3
    np.testing.assert_allclose(
        image[0, 0], [-0.5, -0.2857143, -0.0714286, 0.1428571, 0.3571429], rtol=1e-5
    )
    batch = compose.apply_batch([(FIMG, 1), (FIMG + 1, 2)])
    assert isinstance(batch, tuple) and len(batch) == 2 and batch[1][1] == 2
    np.testing.assert_allclose(batch[1][0][0, 0, :2], [0.0, 0.2142857], atol=1e-6)
    assert T.PseudoTransform().apply((1, 2)) == (1, 2)


def test_flips_with_probability_one_and_zero() -> None:
    assert T.RandomHorizontalFlip(1.0).apply(GRAY)[..., 0].tolist() == [
        [3.0, 2.0, 1.0, 0.0],
        [7.0, 6.0, 5.0, 4.0],
        [11.0, 10.0, 9.0, 8.0],
    ]
    assert T.RandomVerticalFlip(1.0).apply(GRAY)[..., 0].tolist() == [
        [8.0, 9.0, 10.0, 11.0],
        [4.0, 5.0, 6.0, 7.0],
        [0.0, 1.0, 2.0, 3.0],
    ]
    assert T.RandomHorizontalFlip(0.0).apply(GRAY).tolist() == GRAY.tolist()
    _, boxes = T.RandomHorizontalFlip(1.0, order=("image", "boxes")).apply((GRAY, BOX.copy()))
    assert boxes.tolist() == [[2.0, 1.0, 4.0, 3.0]]


def test_random_crop_pads_when_too_small_and_stays_inside() -> None:
    assert T.RandomCrop((4, 5)).apply(GRAY).shape == (4, 5, 1)
    assert T.RandomCrop(3, padding_size=1).apply(FIMG).shape == (3, 3, 3)
    big = T.RandomCrop((5, 6), padding_value=0).apply(GRAY)[..., 0]
    assert big.tolist() == [
        [0.0, 1.0, 2.0, 3.0, 0.0, 0.0],
        [4.0, 5.0, 6.0, 7.0, 0.0, 0.0],
        [8.0, 9.0, 10.0, 11.0, 0.0, 0.0],
        [0.0] * 6,
        [0.0] * 6,
    ]
    with drawing_from(np.random.default_rng(0)):
        crops = {T.RandomCrop(2).apply(GRAY)[0, 0, 0] for _ in range(40)}
    assert crops == {0.0, 1.0, 2.0, 4.0, 5.0, 6.0}  # every top-left corner that fits


def test_random_resized_crop() -> None:
    # an impossible area share makes every draw fail: MegEngine's centred fallback windows
    whole = T.RandomResizedCrop((3, 3), scale_range=(5.0, 5.0)).apply(FIMG)[..., 0]
    np.testing.assert_allclose(
        whole,
        [
            [0.5, 1.2142857, 1.9285715],
            [3.3571427, 4.0714283, 4.785714],
            [6.2142854, 6.928571, 7.642857],
        ],
        rtol=1e-6,
    )
    wide = T.RandomResizedCrop((2, 4), scale_range=(5.0, 5.0), ratio_range=(2.0, 3.0)).apply(FIMG)
    np.testing.assert_allclose(
        wide[..., 0],
        [[2.1964285, 2.732143, 3.267857, 3.8035715], [4.339286, 4.875, 5.410714, 5.9464288]],
        rtol=1e-6,
    )
    tall = T.RandomResizedCrop(3, scale_range=(5.0, 5.0), ratio_range=(0.2, 0.5)).apply(FIMG)
    np.testing.assert_allclose(
        tall[..., 0],
        [[0.78571427, 1.0, 1.2142857], [3.642857, 3.857143, 4.0714283], [6.5, 6.714286, 6.928571]],
        rtol=1e-6,
    )
    with drawing_from(np.random.default_rng(1)):
        outs = [T.RandomResizedCrop(2, scale_range=(0.2, 0.6)).apply(GRAY) for _ in range(5)]
    assert all(o.shape == (2, 2, 1) for o in outs)
    assert len({o.tobytes() for o in outs}) > 1  # different windows
    with pytest.raises(ValueError, match=r"must be \(min, max\)"):
        T.RandomResizedCrop(2, scale_range=(1.0, 0.5))


def test_random_draws_follow_the_current_generator() -> None:
    flip = T.RandomHorizontalFlip(0.5)
    with drawing_from(np.random.default_rng(7)):
        first = [flip.apply(GRAY)[0, 0, 0] for _ in range(16)]
    with drawing_from(np.random.default_rng(7)):
        again = [flip.apply(GRAY)[0, 0, 0] for _ in range(16)]
    assert first == again and set(first) == {0.0, 3.0}
    noisy = T.GaussianNoise(0.0, 0.01)
    with drawing_from(np.random.default_rng(3)):
        out = noisy.apply(IMG)
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - IMG).max() <= 12


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: T.ToMode("HWC"), ValueError, "unsupported mode: HWC"),
        (lambda: T.Pad((1, 2, 3)), ValueError, "pad size must be"),
        (lambda: T.CenterCrop(10).apply(GRAY), ValueError, "bigger than image size"),
        (lambda: T.Compose([], order=("batch",)), ValueError, "batch is invalid data type"),
        (lambda: T.Normalize(order=("nope",)), NotImplementedError, "nope is unsupported"),
        (lambda: T.Resize((2, 2)).apply(np.zeros((2, 2))), ValueError, "image must have 3 dims"),
    ],
)
def test_mistakes(make, error, message: str) -> None:
    with pytest.raises(error, match=message):
        make()
