"""Losses with each reduction: hand-computed values and MegEngine 1.13's numbers (refnotes)."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def check(t: mge.Tensor, expected, rtol: float = 1e-6) -> None:
    """t is float32 and equals expected (scalar or nested list)."""
    assert t.dtype == np.float32
    np.testing.assert_allclose(
        t.numpy(), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=1e-7
    )


@pytest.mark.parametrize(
    ("reduction", "expected"), [("mean", 5 / 3), ("sum", 5.0), ("none", [1.0, 0.0, 4.0])]
)
def test_square_loss(reduction, expected):
    pred, label = mge.tensor([1.0, 2.0, 3.0]), mge.tensor([2.0, 2.0, 5.0])
    out = F.loss.square_loss(pred, label, reduction=reduction)
    check(out, expected)
    if reduction == "mean":  # MegEngine prints 1.6666667 (it multiplies by 1/n): 1 ulp apart
        assert repr(out) == "Tensor(1.6666666, device=xpux:0)"


def test_square_loss_2d_and_mixed_inputs():
    pred, label = mge.tensor([[1.0, 2.0], [3.0, 4.0]]), mge.tensor([[0.0, 2.0], [5.0, 4.0]])
    check(F.loss.square_loss(pred, label), 1.25)
    check(F.loss.square_loss(pred, label, reduction="none"), [[1.0, 0.0], [4.0, 0.0]])
    check(F.loss.square_loss(mge.tensor([1.0, 2.0]), np.array([2.0, 2.0], "float32")), 0.5)
    with pytest.warns(UserWarning, match=r"broadcast to \(2, 2\)"):  # as MegEngine, but warned
        check(F.loss.square_loss(mge.tensor([1.0, 2.0]), mge.tensor([[2.0], [2.0]])), 0.5)
    assert F.nn.square_loss is F.loss.square_loss


def test_square_loss_on_ndarrays_is_the_tutorials_9_75():
    out = F.loss.square_loss(np.array([3.0, 3, 3, 3]), np.array([2.0, 8, 6, 1]))
    assert repr(out) == "Tensor(9.75, device=xpux:0)"


def test_bad_reduction_and_shapes():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.loss.square_loss(mge.tensor([1.0]), mge.tensor([1.0]), reduction="avg")
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        F.loss.square_loss(mge.tensor([1.0, 2.0]), mge.tensor([2.0, 2.0, 3.0]))


@pytest.mark.parametrize(
    ("reduction", "expected"), [("mean", 1.0), ("sum", 3.0), ("none", [1.0, 0.0, 2.0])]
)
def test_l1_loss(reduction, expected):
    out = F.loss.l1_loss(mge.tensor([1.0, 2.0, 3.0]), mge.tensor([2.0, 2.0, 5.0]), reduction)
    check(out, expected)


LOGITS = [[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]]
CE_ROW = float(np.log(np.exp([1.0, 2.0, 3.0]).sum()) - 3.0)  # both rows give 0.40760596


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [("mean", 0.4076059), ("sum", 0.8152118), ("none", [CE_ROW, CE_ROW])],
)
def test_cross_entropy(reduction, expected):
    out = F.loss.cross_entropy(mge.tensor(LOGITS), mge.tensor([2, 0]), reduction=reduction)
    check(out, expected)


def test_cross_entropy_variants():
    logits, labels = mge.tensor(LOGITS), mge.tensor([2, 0])
    check(F.loss.cross_entropy(logits, labels, label_smooth=0.1), 0.50760597)
    probs = F.softmax(logits)
    check(F.loss.cross_entropy(probs, labels, with_logits=False), 0.40760598)
    check(F.loss.cross_entropy(logits, np.array([2, 0])), 0.4076059)
    check(
        F.loss.cross_entropy(
            mge.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, 3.0]]), mge.tensor([1, 0]), axis=0
        ),
        2.2887259,
    )
    x = mge.tensor(np.arange(24, dtype="float32").reshape(2, 3, 4) / 10)
    y = mge.tensor(np.array([[0, 1, 2, 0], [2, 2, 1, 0]], "int32"))
    check(F.loss.cross_entropy(x, y), 1.1512505)
    assert F.loss.cross_entropy(x, y, reduction="none").shape == (2, 4)


def test_cross_entropy_smoothing_by_hand():
    logits = np.array(LOGITS)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    picked = -logp[[0, 1], [2, 0]]
    smooth = 0.9 * picked - 0.1 / 3 * logp.sum(axis=1)
    out = F.loss.cross_entropy(
        mge.tensor(LOGITS), mge.tensor([2, 0]), label_smooth=0.1, reduction="none"
    )
    check(out, smooth)


@pytest.mark.parametrize(
    ("labels", "error", "message"),
    [
        ([[2], [0]], ValueError, "do not fit predictions"),
        ([2, 0, 1], ValueError, "do not fit predictions"),
        ([5, 0], ValueError, r"labels must lie in \[0, 3\)"),
        ([2.0, 0.0], TypeError, "labels must be integer class indices"),
    ],
)
def test_cross_entropy_label_errors(labels, error, message):
    with pytest.raises(error, match=message):
        F.loss.cross_entropy(mge.tensor(LOGITS), mge.tensor(labels))


BCE_NONE = [0.474077, 0.313262, 0.126928]


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [("mean", 0.30475557), ("sum", 0.9142667), ("none", BCE_NONE)],
)
def test_binary_cross_entropy(reduction, expected):
    pred, label = mge.tensor([0.5, -1.0, 2.0]), mge.tensor([1.0, 0.0, 1.0])
    check(F.loss.binary_cross_entropy(pred, label, reduction=reduction), expected, rtol=1e-5)
    probs = F.sigmoid(pred)
    check(F.loss.binary_cross_entropy(probs, label, False, reduction), expected, rtol=1e-5)


def test_binary_cross_entropy_by_hand_2d():
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 1.0]])
    p = 1 / (1 + np.exp(-x))
    by_hand = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    out = F.loss.binary_cross_entropy(mge.tensor(x), mge.tensor(y), reduction="none")
    check(out, by_hand, rtol=1e-5)
    check(F.loss.binary_cross_entropy(mge.tensor(x), mge.tensor(y)), 0.40185347, rtol=1e-6)


def test_binary_cross_entropy_extreme_logits_stay_finite():
    out = F.loss.binary_cross_entropy(
        mge.tensor([100.0, -100.0]), mge.tensor([0.0, 1.0]), reduction="none"
    )
    check(out, [100.0, 100.0])


HINGE_PRED = [[0.3, -0.5, 2.0], [1.2, 0.1, -3.0]]
HINGE_LABEL = [[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]


@pytest.mark.parametrize(
    ("norm", "reduction", "expected"),
    [
        ("L1", "mean", 2.15),
        ("L1", "sum", 4.3),
        ("L1", "none", [1.2, 3.1]),
        ("L2", "mean", 3.1950002),
        ("L2", "none", [0.74, 5.65]),
    ],
)
def test_hinge_loss(norm, reduction, expected):
    out = F.loss.hinge_loss(mge.tensor(HINGE_PRED), mge.tensor(HINGE_LABEL), norm, reduction)
    check(out, expected, rtol=1e-6)


def test_hinge_loss_norm_error():
    with pytest.raises(ValueError, match="norm must be 'L1' or 'L2'"):
        F.loss.hinge_loss(mge.tensor([[0.3]]), mge.tensor([[1.0]]), norm="L3")
