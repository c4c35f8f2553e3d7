"""Colour transforms, ShortestEdgeResize and the colour kernels give MegEngine 1.13's results.

Every expected value was printed by MegEngine 1.13 (OpenCV 4.11 inside) after
`np.random.seed(seed)`; here the transforms draw from `np.random.RandomState(seed)`, the same
stream, so the random factors are MegEngine's own. COLORS is a (2, 3, 3) uint8 BGR image with
saturated, gray and mixed pixels, FCOLORS the float32 image COLORS / 1.1 + 3.3, RAND a (9, 11, 3)
uint8 image (k * 37 % 256).
"""

from __future__ import annotations

import numpy as np
import pytest

import engine.data.transform as T
from engine.data.seeding import drawing_from
from engine.data.transform import functional as F

COLORS = np.array(
    [[[10, 200, 30], [250, 5, 128], [77, 77, 77]], [[0, 0, 255], [255, 255, 0], [30, 140, 220]]],
    np.uint8,
)
FCOLORS = (COLORS / 1.1 + 3.3).astype(np.float32)
RAND = (np.arange(297).reshape(9, 11, 3) * 37 % 256).astype(np.uint8)


class NumpyStream(np.random.RandomState):
    """np.random's legacy stream (what MegEngine draws from), with the Generator's `integers`."""

    def integers(self, low: int, high: int | None = None, size: int | None = None) -> object:
        return self.randint(low, high, size)


def apply_seeded(transform: T.Transform, image: np.ndarray, seed: int) -> np.ndarray:
    with drawing_from(NumpyStream(seed)):
        return transform.apply(image)


def test_gray_and_bgr_kernels() -> None:
    gray = F.to_gray(COLORS)
    assert gray.dtype == np.uint8 and gray[..., 0].tolist() == [[128, 70, 77], [76, 179, 151]]
    np.testing.assert_array_equal(
        F.to_gray(FCOLORS)[..., 0],
        np.array(
            [[119.21818542480469, 66.66999816894531, 73.30000305175781]]
            + [[72.61363220214844, 165.80453491210938, 140.91818237304688]],
            np.float32,
        ),
    )
    assert F.to_bgr(gray).tolist() == [[[v] * 3 for v in row] for row in gray[..., 0].tolist()]
    with_alpha = np.concatenate([COLORS, np.full((2, 3, 1), 9, np.uint8)], axis=-1)
    assert F.to_gray(with_alpha).tolist() == gray.tolist()  # the alpha channel is ignored


def test_hsv_kernels_match_opencv() -> None:
    hsv = F.bgr_to_hsv_full(COLORS)  # cv2.COLOR_BGR2HSV_FULL: hue over 0..255
    assert hsv.tolist() == [
        [[81, 242, 200], [192, 250, 250], [0, 0, 77]],
        [[0, 255, 255], [128, 255, 255], [25, 220, 220]],
    ]
    assert F.hsv_full_to_bgr(hsv).tolist() == [  # COLOR_HSV2BGR_FULL reads the hue as / 255
        [[10, 200, 28], [250, 5, 132], [77, 77, 77]],
        [[0, 0, 255], [255, 252, 0], [30, 142, 220]],
    ]
    some = np.array([[[255, 255, 255], [128, 255, 255], [0, 128, 200]]], np.uint8)
    assert F.hsv_full_to_bgr(some).tolist() == [[[0, 0, 255], [255, 252, 0], [100, 100, 200]]]


UINT8_RESULTS = {
    "BrightnessTransform": [
        [[10, 209, 31], [255, 5, 134], [80, 80, 80]],
        [[0, 0, 255], [255, 255, 0], [31, 146, 230]],
    ],
    "ContrastTransform": [
        [[18, 192, 36], [238, 13, 126], [80, 80, 80]],
        [[9, 9, 243], [243, 243, 9], [36, 137, 211]],
    ],
    "SaturationTransform": [
        [[20, 193, 38], [233, 10, 122], [77, 77, 77]],
        [[6, 6, 238], [248, 248, 16], [40, 141, 213]],
    ],
    "HueTransform": [
        [[24, 200, 10], [250, 5, 172], [77, 77, 77]],
        [[0, 42, 255], [255, 210, 0], [30, 173, 220]],
    ],
    "Lighting": [
        [[8, 198, 28], [248, 3, 126], [75, 75, 75]],
        [[0, 0, 253], [253, 253, 0], [28, 138, 218]],
    ],
}
FLOAT32_RESULTS = {
    "BrightnessTransform": [
        [[12.995752, 194.15443, 32.065086], [241.82777, 8.228418, 125.50483], [76.87803] * 3],
        [[3.4610844, 3.4610844, 246.5951], [246.5951, 246.5951, 3.4610844]]
        + [[32.065086, 136.94643, 213.22379]],
    ],
    "ContrastTransform": [
        [[20.193317, 178.58803, 36.866444], [220.27084, 16.025035, 118.56477], [76.04829] * 3],
        [[11.856753, 11.856753, 224.43912], [224.43912, 224.43912, 11.856753]]
        + [[36.866444, 128.56863, 195.26115]],
    ],
    "SaturationTransform": [
        [[21.963396, 179.21307, 38.515991], [215.88586, 13.116553, 114.91502], [73.30001] * 3],
        [[9.510996, 9.510996, 220.55661], [228.90718, 228.90718, 17.861567]]
        + [[40.460468, 131.49976, 197.71014]],
    ],
    "HueTransform": [
        [[25.0, 185.0, 12.0], [230.0, 7.0, 159.0], [73.0, 73.0, 73.0]],
        [[3.0, 41.0, 235.0], [235.0, 194.0, 3.0], [30.0, 160.0, 203.0]],
    ],
    "Lighting": [
        [[11.190191, 183.47054, 29.181709], [229.372, 6.1978092, 118.27263]]
        + [[72.09928, 71.65236, 71.90899]],
        [[2.0992818, 1.6523546, 233.72716], [233.91747, 233.47054, 1.9089824]]
        + [[29.372009, 128.92508, 201.90898]],
    ],
}
CASES = [  # (transform, its value, the seed MegEngine was given)
    (T.BrightnessTransform, 0.5, 0),
    (T.ContrastTransform, 0.5, 1),
    (T.SaturationTransform, 0.7, 2),
    (T.HueTransform, 0.3, 3),
    (T.Lighting, 0.1, 5),
]


@pytest.mark.parametrize("make, value, seed", CASES, ids=[c[0].__name__ for c in CASES])
def test_colour_transforms_match_megengine(make, value: float, seed: int) -> None:
    out = apply_seeded(make(value), COLORS, seed)
    assert out.dtype == np.uint8 and out.tolist() == UINT8_RESULTS[make.__name__]
    out = apply_seeded(make(value), FCOLORS, seed)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, FLOAT32_RESULTS[make.__name__], rtol=1e-6)


@pytest.mark.parametrize("make, value, seed", CASES, ids=[c[0].__name__ for c in CASES])
def test_value_zero_is_the_identity(make, value: float, seed: int) -> None:
    assert make(0).apply(COLORS) is COLORS and make(0).apply(FCOLORS) is FCOLORS


def test_hue_on_a_larger_image_and_with_alpha() -> None:
    out = apply_seeded(T.HueTransform(0.5), RAND, 4)
    assert int(out.astype(np.int64).sum()) == 39411
    assert out[0, :3].tolist() == [[74, 52, 0], [185, 163, 111], [3, 214, 222]]
    assert out[8, 10].tolist() == [200, 178, 126]
    with_alpha = np.concatenate([COLORS, np.full((2, 3, 1), 9, np.uint8)], axis=-1)
    out = apply_seeded(T.HueTransform(0.2), with_alpha, 11)
    assert out.tolist() == [  # OpenCV's BGRA -> HSV -> BGR drops the alpha channel
        [[10, 200, 171], [250, 63, 5], [77, 77, 77]],
        [[186, 0, 255], [66, 255, 0], [57, 30, 220]],
    ]


def test_color_jitter_shuffles_its_steps_as_megengine() -> None:
    out = apply_seeded(T.ColorJitter(0.4, 0.4, 0.4, 0.1), RAND, 6)
    assert int(out.astype(np.int64).sum()) == 25746
    assert out[0, :3].tolist() == [[2, 2, 72], [79, 79, 148], [201, 61, 0]]
    assert out[8, 10].tolist() == [87, 87, 160]
    out = apply_seeded(T.ColorJitter(0.4, 0.4, 0.4, 0.1), COLORS, 8)
    assert out.tolist() == [
        [[51, 221, 79], [253, 33, 131], [100, 100, 100]],
        [[41, 30, 255], [243, 255, 55], [75, 162, 244]],
    ]
    out = apply_seeded(T.ColorJitter(brightness=0.3, contrast=0.6), FCOLORS, 9)
    np.testing.assert_allclose(
        out,
        [
            [[27.670115, 172.22839, 42.886776], [210.27003, 23.865952, 117.44841], [78.645935] * 3],
            [[20.061785, 20.061785, 214.0742], [214.0742, 214.0742, 20.061785]]
            + [[42.886776, 126.57841, 187.44505]],
        ],
        rtol=1e-6,
    )


def test_one_stream_many_samples_and_masks_pass_through() -> None:
    brightness = T.BrightnessTransform(0.5)
    with drawing_from(NumpyStream(10)):
        draws = [brightness.apply(COLORS)[0, 0, 1].item() for _ in range(5)]
    assert draws == [254, 104, 226, 249, 199]
    mask = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    _, kept = apply_seeded(T.BrightnessTransform(0.5, order=("image", "mask")), (COLORS, mask), 12)
    assert kept is mask


def test_lighting_gives_a_gray_image_three_channels() -> None:
    out = apply_seeded(T.Lighting(0.1), np.zeros((2, 2, 1), np.float32), 0)
    assert out.shape == (2, 2, 3)  # as MegEngine: the BGR shift broadcasts over one channel


IMG = (np.arange(6 * 9 * 3).reshape(6, 9, 3) / 7.0).astype(np.float32)


def test_shortest_edge_resize_draws_sizes_as_megengine() -> None:
    ranged = T.ShortestEdgeResize((4, 8), 10)
    shapes = [apply_seeded(ranged, IMG, seed).shape for seed in range(4)]
    assert shapes == [(7, 10, 3), (7, 10, 3), (4, 6, 3), (6, 9, 3)]  # 10 caps the long side
    chosen = T.ShortestEdgeResize((3, 5, 12), 14, sample_style="choice")
    shapes = [apply_seeded(chosen, IMG, seed).shape for seed in range(4)]
    assert shapes == [(3, 4, 3), (5, 8, 3), (3, 4, 3), (9, 14, 3)]
    out = apply_seeded(T.ShortestEdgeResize(4, 100), IMG, 3)[..., 0]
    np.testing.assert_allclose(
        out,
        [
            [1.0714285, 1.7142857, 2.357143, 3.0, 3.642857, 4.285714],
            [6.857143, 7.5, 8.142858, 8.785714, 9.428571, 10.071429],
            [12.642858, 13.285714, 13.928571, 14.571428, 15.214286, 15.857142],
            [18.428572, 19.071428, 19.714287, 20.357143, 21.0, 21.642857],
        ],
        rtol=1e-6,
    )
    tall = np.ascontiguousarray(IMG.transpose(1, 0, 2))
    assert apply_seeded(T.ShortestEdgeResize(6, 100), tall, 0).shape == (9, 6, 3)
    assert apply_seeded(T.ShortestEdgeResize(6, 100), IMG, 0) is IMG  # already that size
    box = np.array([[1.0, 2.0, 5.0, 4.0]], np.float32)
    moved = T.ShortestEdgeResize((4, 8), 10, order=("image", "boxes"))
    image, boxes = apply_seeded(moved, (IMG, box), 1)
    assert image.shape == (7, 10, 3)
    np.testing.assert_allclose(boxes, [[1.1111112, 2.3333333, 5.5555558, 4.6666665]], rtol=1e-6)


def test_torch_transform_compose_runs_pil_callables_on_bgr() -> None:
    pil = pytest.importorskip("PIL.Image")
    seen = []

    def record_rgb(picture):
        seen.append(np.array(picture))
        return picture.transpose(pil.Transpose.FLIP_LEFT_RIGHT)

    out = T.TorchTransformCompose([record_rgb]).apply(COLORS)
    np.testing.assert_array_equal(seen[0], COLORS[..., ::-1])  # the callable saw RGB
    np.testing.assert_array_equal(out, COLORS[:, ::-1])  # mirrored, back in BGR
    gray = T.TorchTransformCompose([lambda p: p.convert("L")]).apply(COLORS)
    assert gray.shape == (2, 3, 1)  # PIL's own RGB -> L weights: 299, 587, 114 per mille
    assert gray[..., 0].tolist() == [[128, 70, 77], [76, 179, 151]]
    as_array = T.TorchTransformCompose([np.asarray]).apply(FCOLORS)
    np.testing.assert_array_equal(as_array, FCOLORS.astype(np.uint8))


@pytest.mark.parametrize(
    "make, error, message",
    [  # MegEngine raises the same errors with the same messages
        (lambda: T.BrightnessTransform(-1), ValueError, "brightness value should be non-neg"),
        (lambda: T.ContrastTransform(-2), ValueError, "contrast value should be non-negative"),
        (lambda: T.SaturationTransform(-2), ValueError, "saturation value should be non-neg"),
        (lambda: T.HueTransform(0.6), ValueError, r"hue value should be in \[0.0, 0.5\]"),
        (lambda: T.Lighting(-0.1), ValueError, "lighting scale should be non-negative"),
        (lambda: T.ShortestEdgeResize(3, 4, "x"), NotImplementedError, "x is unsupported sample"),
        # OpenCV's channel-count errors (cv2.error in MegEngine)
        (lambda: F.to_gray(np.zeros((2, 2, 1), np.uint8)), ValueError, "3 or 4 channels"),
        (lambda: F.to_bgr(COLORS), ValueError, "must have 1 channel"),
        (lambda: T.ContrastTransform(0.1).apply(np.zeros((2, 2, 1))), ValueError, "3 or 4"),
        (lambda: F.to_gray(COLORS.astype(np.float64)), ValueError, "uint8 or float32"),
    ],
)
def test_mistakes(make, error, message: str) -> None:
    with pytest.raises(error, match=message):
        make()
