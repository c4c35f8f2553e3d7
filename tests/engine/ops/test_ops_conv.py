"""conv2d, max_pool2d, avg_pool2d and pad: forward against loop references and torch,
gradients against central differences, MegEngine's tie and padding rules, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine.functional as F
from engine import Parameter, Tensor
from engine.autodiff import GradManager, check_grad, check_gradgrad
from engine.ops import conv as C

RNG = np.random.default_rng(0)


# ---- loop references (slow but obviously right) ---------------------------------------------


def ref_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct cross-correlation, weight (out, in/groups, kh, kw)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg : (g + 1) * cg, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                           j * sw : j * sw + dw * (kw - 1) + 1 : dw]  # fmt: skip
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, o, 1, 1)
    return out


def ref_pool(x, kernel, stride, padding, how):
    """Max or average pooling by loops; how is 'max', 'average' or 'exclude'."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * sh - ph, j * sw - pw
            rows = slice(max(r0, 0), min(r0 + kh, h))
            cols = slice(max(c0, 0), min(c0 + kw, w))
            window = x[:, :, rows, cols]
            if how == "max":
                out[:, :, i, j] = window.max(axis=(2, 3))
            elif how == "average":
                out[:, :, i, j] = window.sum(axis=(2, 3)) / (kh * kw)
            else:
                out[:, :, i, j] = window.mean(axis=(2, 3))
    return out


# (input shape, weight shape in the kernel layout, bias, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 8, 7), (5, 3, 3, 2), True, (2, 1), (1, 2), (1, 1), 1),
    ((1, 2, 9, 9), (3, 2, 3, 3), False, (1, 2), (2, 1), (2, 3), 1),
    ((2, 4, 6, 6), (6, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 2),
    ((1, 3, 7, 8), (6, 1, 3, 3), True, (2, 2), (1, 1), (2, 1), 3),  # depthwise, multiplier 2
    ((3, 1, 5, 5), (2, 1, 5, 5), True, (1, 1), (0, 0), (1, 1), 1),  # 1x1 output
]


def _conv_inputs(case):
    x_shape, w_shape, bias, stride, padding, dilation, groups = case
    x = RNG.normal(size=x_shape)
    w = RNG.normal(size=w_shape)
    b = RNG.normal(size=(1, w_shape[0], 1, 1)) if bias else None
    return x, w, b, stride, padding, dilation, groups


def _megengine_weight(w, groups):
    """The kernel layout (out, in/g, kh, kw) as MegEngine's group layout when groups > 1."""
    if groups == 1:
        return w
    o = w.shape[0]
    return w.reshape(groups, o // groups, *w.shape[1:])


def _conv(x, w, b, stride, padding, dilation, groups):
    bias = None if b is None else Tensor(b, dtype="float64")
    return F.conv2d(
        Tensor(x, dtype="float64"),
        Tensor(_megengine_weight(w, groups), dtype="float64"),
        bias,
        stride,
        padding,
        dilation,
        groups,
    )


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_loop_reference(case):
    x, w, b, stride, padding, dilation, groups = _conv_inputs(case)
    got = _conv(x, w, b, stride, padding, dilation, groups).numpy()
    want = ref_conv2d(x, w, b, stride, padding, dilation, groups)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b, stride, padding, dilation, groups = _conv_inputs(case)
    mw = _megengine_weight(w, groups)
    if b is None:
        check_grad(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups), [x, mw])
    else:
        check_grad(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), [x, mw, b])


def test_conv2d_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    for case in CONV_CASES:
        x, w, b, stride, padding, dilation, groups = _conv_inputs(case)
        x32, w32 = x.astype("float32"), w.astype("float32")
        b32 = None if b is None else b.astype("float32")
        tx = torch.tensor(x32, requires_grad=True)
        tw = torch.tensor(w32, requires_grad=True)
        tb = None if b is None else torch.tensor(b32.reshape(-1), requires_grad=True)
        tout = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, groups)
        cot = RNG.normal(size=tuple(tout.shape)).astype("float32")
        tout.backward(torch.tensor(cot))

        ex = Parameter(x32)
        ew = Parameter(_megengine_weight(w32, groups))
        eb = None if b is None else Parameter(b32)
        gm = GradManager().attach([t for t in (ex, ew, eb) if t is not None])
        with gm:
            out = F.conv2d(ex, ew, eb, stride, padding, dilation, groups)
            gm.backward(out, Tensor(cot))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            ew.grad.numpy().reshape(w.shape), tw.grad.numpy(), rtol=1e-4, atol=1e-4
        )
        if b is not None:
            np.testing.assert_allclose(
                eb.grad.numpy().reshape(-1), tb.grad.numpy(), rtol=1e-4, atol=1e-4
            )


# ---- column blocks: how conv2d cuts its matmuls ------------------------------------------------


def test_column_blocks_at_lenet_shapes_keep_each_matmul_within_budget():
    # conv1: rows of 24 are long, so a block is one image: 576 columns of 6 * 25 MACs
    assert C.column_blocks((24, 24), 64, 6 * 25) == (1, 24, 1)
    # conv2: rows of 8 keep the batch last; a row of 64 images is 512 columns of 16 * 150
    # MACs, over the budget, so a block is half a row: 256 columns
    assert C.column_blocks((8, 8), 64, 16 * 150) == (64, 1, 2)
    assert 256 * 16 * 150 <= C.GEMM_MACS < 512 * 16 * 150
    # small problems are one block
    assert C.column_blocks((3, 3), 2, 4 * 27) == (2, 3, 1)
    # big products are never cut below whole images: 64 channels of 3x3x64 per image,
    # and a 7x7 layer's whole batch in one product
    assert C.column_blocks((28, 28), 32, 64 * 576) == (1, 28, 1)
    assert C.column_blocks((7, 7), 32, 512 * 4608) == (32, 7, 1)


BLOCKINGS = [(1, 16), (1, 1), (300, 16), (300, 1)]  # (GEMM_MACS, SHORT_ROW)


@pytest.mark.parametrize("budget, short_row", BLOCKINGS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_cut_in_blocks_matches_loop_reference_and_differences(
    case, budget, short_row, monkeypatch
):
    monkeypatch.setattr(C, "GEMM_MACS", budget)
    monkeypatch.setattr(C, "SHORT_ROW", short_row)
    monkeypatch.setattr(C, "MIN_COLUMNS", 0)
    x, w, b, stride, padding, dilation, groups = _conv_inputs(case)
    got = _conv(x, w, b, stride, padding, dilation, groups).numpy()
    want = ref_conv2d(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    mw = _megengine_weight(w, groups)
    check_grad(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups), [x, mw])


@pytest.mark.parametrize("budget, short_row", [(10**6, 16), (200, 1)])
def test_conv2d_second_order_with_power_of_two_images(budget, short_row, monkeypatch):
    # (2, 8, 8, 8) float64 outputs: images 4 KiB apart, the layout copies take their
    # de-aliasing route; the budget and short rows then cut them into blocks
    monkeypatch.setattr(C, "GEMM_MACS", budget)
    monkeypatch.setattr(C, "SHORT_ROW", short_row)
    monkeypatch.setattr(C, "MIN_COLUMNS", 0)
    x, w, b = RNG.normal(size=(2, 2, 10, 10)), RNG.normal(size=(8, 2, 3, 3)), RNG.normal(size=8)
    check_gradgrad(lambda x, w, b: F.conv2d(x, w, b.reshape(1, 8, 1, 1)), [x, w, b])


@pytest.mark.parametrize("size", [6, 20])  # short rows (batch last) and long rows
def test_conv2d_of_an_empty_batch_is_empty_and_so_are_its_gradients(size):
    x = Parameter(np.zeros((0, 2, size, size), "float32"))
    w = Parameter(np.ones((3, 2, 3, 3), "float32"))
    gm = GradManager().attach([x, w])
    with gm:
        y = F.conv2d(x, w)
        gm.backward(y.sum())
    assert y.shape == (0, 3, size - 2, size - 2) and x.grad.shape == (0, 2, size, size)
    assert w.grad.numpy().tolist() == np.zeros((3, 2, 3, 3)).tolist()


def test_conv2d_keeps_float32_and_contiguous_output():
    x = Tensor(RNG.normal(size=(2, 3, 6, 6)))
    w = Tensor(RNG.normal(size=(4, 3, 3, 3)))
    out = F.conv2d(x, w, padding=1)
    assert out.dtype == np.float32 and out.shape == (2, 4, 6, 6)
    assert out._data.flags.c_contiguous


def test_conv2d_bias_may_be_any_broadcastable_per_channel_shape():
    x = RNG.normal(size=(1, 2, 4, 4))
    w = RNG.normal(size=(3, 2, 3, 3))
    b = RNG.normal(size=(3,))
    want = _conv(x, w, b.reshape(1, 3, 1, 1), (1, 1), (0, 0), (1, 1), 1).numpy()
    got = F.conv2d(
        Tensor(x, "float64"), Tensor(w, "float64"), Tensor(b.reshape(3, 1, 1), "float64")
    )
    np.testing.assert_allclose(got.numpy(), want)


# ---- conv2d errors: both shapes named -------------------------------------------------------


def _error(fn, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_conv2d_channel_mismatch_names_both_shapes():
    msg = _error(F.conv2d, Tensor(np.ones((2, 4, 5, 5))), Tensor(np.ones((6, 3, 3, 3))))
    assert "(2, 4, 5, 5)" in msg and "(6, 3, 3, 3)" in msg and "4 channels" in msg


def test_conv2d_group_weight_must_use_megengine_layout():
    msg = _error(F.conv2d, Tensor(np.ones((2, 4, 5, 5))), Tensor(np.ones((6, 2, 3, 3))), groups=2)
    assert "(6, 2, 3, 3)" in msg and "(2, 4, 5, 5)" in msg and "groups" in msg
    out = F.conv2d(Tensor(np.ones((2, 4, 5, 5))), Tensor(np.ones((2, 3, 2, 3, 3))), groups=2)
    assert out.shape == (2, 6, 3, 3)


def test_conv2d_rejects_bad_bias_input_rank_and_too_small_input():
    x, w = Tensor(np.ones((2, 3, 5, 5))), Tensor(np.ones((4, 3, 3, 3)))
    msg = _error(F.conv2d, x, w, Tensor(np.ones((1, 5, 1, 1))))
    assert "(1, 5, 1, 1)" in msg and "(1, 4, 1, 1)" in msg
    assert "(3, 5, 5)" in _error(F.conv2d, Tensor(np.ones((3, 5, 5))), w)
    assert "smaller" in _error(F.conv2d, Tensor(np.ones((1, 3, 2, 2))), w)
    assert "stride" in _error(F.conv2d, x, w, stride=0)


# ---- pooling --------------------------------------------------------------------------------

POOL_CASES = [
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ((1, 2, 7, 5), (3, 3), (2, 1), (1, 1)),
    ((2, 1, 5, 6), (3, 2), (1, 2), (1, 0)),
    ((1, 1, 5, 5), (2, 2), (2, 2), (0, 0)),  # floor: the last row/column is dropped
    ((1, 2, 8, 7), (2, 2), (3, 3), (1, 1)),  # disjoint windows with gaps between them
    ((1, 2, 5, 6), (1, 3), (2, 1), (0, 1)),  # one-row windows
    ((2, 1, 4, 5), (2, 1), (1, 2), (0, 0)),  # one-column windows
]


def _distinct(shape):
    return (RNG.permutation(int(np.prod(shape))) * 0.1 - 1.0).reshape(shape)


@pytest.mark.parametrize("case", POOL_CASES)
def test_pools_match_loop_reference(case):
    shape, kernel, stride, padding = case
    x = RNG.normal(size=shape) - 3.0  # all negative: zero padding must never win a max
    t = Tensor(x, dtype="float64")
    np.testing.assert_allclose(
        F.max_pool2d(t, kernel, stride, padding).numpy(),
        ref_pool(x, kernel, stride, padding, "max"),
    )
    np.testing.assert_allclose(
        F.avg_pool2d(t, kernel, stride, padding).numpy(),
        ref_pool(x, kernel, stride, padding, "exclude"),
    )
    np.testing.assert_allclose(
        F.avg_pool2d(t, kernel, stride, padding, mode="average").numpy(),
        ref_pool(x, kernel, stride, padding, "average"),
    )


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_gradients_match_finite_differences(case):
    shape, kernel, stride, padding = case
    x = _distinct(shape)  # no ties, so max pooling is differentiable everywhere here
    check_grad(lambda t: F.max_pool2d(t, kernel, stride, padding), [x])
    check_grad(lambda t: F.avg_pool2d(t, kernel, stride, padding), [x])
    check_grad(lambda t: F.avg_pool2d(t, kernel, stride, padding, mode="average"), [x])


def test_pools_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for shape, kernel, stride, padding in POOL_CASES:
        x = _distinct(shape).astype("float32")
        tx = torch.tensor(x)
        t = Tensor(x)
        pairs = [
            (F.max_pool2d(t, kernel, stride, padding), tf.max_pool2d(tx, kernel, stride, padding)),
            (
                F.avg_pool2d(t, kernel, stride, padding),
                tf.avg_pool2d(tx, kernel, stride, padding, count_include_pad=False),
            ),
            (
                F.avg_pool2d(t, kernel, stride, padding, mode="average"),
                tf.avg_pool2d(tx, kernel, stride, padding, count_include_pad=True),
            ),
        ]
        for ours, theirs in pairs:
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_ties_give_every_maximum_the_full_gradient_like_megengine():
    # values and gradients printed by MegEngine 1.13 for this input
    x = Parameter(
        np.array([[1, 3, 3, 0], [3, 2, 1, 1], [0, 0, 5, 5], [0, 0, 5, 5]], "float32")[None, None]
    )
    gm = GradManager().attach(x)
    with gm:
        gm.backward(F.max_pool2d(x, 2).sum())
    assert x.grad.numpy()[0, 0].tolist() == [[0, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]
    x.grad = None
    with gm:
        gm.backward(F.max_pool2d(x, 3, 1, 1).sum())
    assert x.grad.numpy()[0, 0].tolist() == [
        [0, 4, 3, 0],
        [4, 0, 0, 0],
        [1, 1, 9, 6],
        [1, 1, 6, 4],
    ]


def test_pool_padding_values_match_megengine():
    x = Tensor(-np.arange(1, 17, dtype="float32").reshape(1, 1, 4, 4))
    assert F.max_pool2d(x, 3, 2, 1).numpy().ravel().tolist() == [-1, -2, -5, -6]
    assert F.avg_pool2d(x, 3, 2, 1).numpy().ravel().tolist() == [-3.5, -5, -9.5, -11]
    np.testing.assert_allclose(
        F.avg_pool2d(x, 3, 2, 1, mode="average").numpy().ravel(),
        [-1.5555556, -3.3333333, -6.3333335, -11.0],
        rtol=1e-6,
    )


def test_pool_stride_defaults_to_kernel_and_errors_are_clear():
    x = Tensor(np.ones((1, 1, 4, 4)))
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)
    assert F.max_pool2d(x, 3).shape == (1, 1, 1, 1)
    assert "padding" in _error(F.max_pool2d, x, 2, 1, 2)
    assert "mode" in _error(F.avg_pool2d, x, 2, mode="mean")
    assert "(1, 1, 4, 4)" in _error(F.max_pool2d, x, 5)
    assert "4-d" in _error(F.avg_pool2d, Tensor(np.ones((4, 4))), 2)


# ---- pad ------------------------------------------------------------------------------------

SMALL = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_pad_modes_match_megengine_examples():
    x = Tensor(SMALL)
    assert F.nn.pad(x, ((1, 1),), constant_value=9.0).numpy().tolist() == [
        [9, 9, 9], [1, 2, 3], [4, 5, 6], [9, 9, 9]
    ]  # fmt: skip
    assert F.nn.pad(x, ((1, 1), (2, 1)), "reflect").numpy().tolist() == [
        [6, 5, 4, 5, 6, 5], [3, 2, 1, 2, 3, 2], [6, 5, 4, 5, 6, 5], [3, 2, 1, 2, 3, 2]
    ]  # fmt: skip
    edge = [[1, 1, 1, 2, 3, 3], [1, 1, 1, 2, 3, 3], [4, 4, 4, 5, 6, 6], [4, 4, 4, 5, 6, 6]]
    assert F.nn.pad(x, ((1, 1), (2, 1)), "edge").numpy().tolist() == edge
    assert F.nn.pad(x, ((1, 1), (2, 1)), "replicate").numpy().tolist() == edge


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad_matches_numpy_and_has_correct_gradient(mode):
    x = RNG.normal(size=(2, 3, 4, 5))
    width = ((0, 0), (1, 0), (2, 3), (4, 1))
    np_mode = {"replicate": "edge"}.get(mode, mode)
    got = F.nn.pad(Tensor(x, dtype="float64"), width, mode).numpy()
    np.testing.assert_array_equal(got, np.pad(x, width, mode=np_mode))
    check_grad(lambda t: F.nn.pad(t, width, mode), [x])


def test_pad_errors():
    x = Tensor(SMALL)
    assert "reflect" in _error(F.nn.pad, x, ((2, 0),), "reflect")
    assert "mode" in _error(F.nn.pad, x, ((1, 1),), "wrap")
    assert "(2, 3)" in _error(F.nn.pad, x, ((1, 1), (1, 1), (1, 1)))


def test_functions_are_also_at_the_top_of_f_as_in_megengine():
    for name in ("conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "dropout", "pad"):
        assert getattr(F, name) is getattr(F.nn, name)
