"""The MegEngine basic-concepts tutorial, block by block, with `import engine as mge`.

Expected output is the tutorial's, except where MegEngine 1.13 prints differently (the
issue's rule: 1.13 wins on print formats): `print(t.dtype)` shows `float32`, classes live
in `engine.tensor`, a 0-d gradient prints as `Tensor(1.0, ...)`, a Parameter as
`Parameter([2.98], ...)`, and `print(square_loss(...))` prints a Tensor.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.optimizer as optim
from engine import Tensor, tensor
from engine.autodiff import GradManager


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines printed since the last call."""
    return capsys.readouterr().out.splitlines()


def test_creating_tensors(capsys):
    py_list = range(5)
    print(mge.tensor(py_list))
    np_ndarray = np.arange(5).astype("float32")
    print(mge.tensor(np_ndarray))
    mge_tensor = F.arange(5)
    print(mge_tensor)
    assert lines(capsys) == [
        "Tensor([0 1 2 3 4], dtype=int32, device=xpux:0)",
        "Tensor([0. 1. 2. 3. 4.], device=xpux:0)",
        "Tensor([0. 1. 2. 3. 4.], device=xpux:0)",
    ]


def test_dtype_type_astype_device_numpy(capsys):
    mge_tensor = F.arange(5)
    print(mge_tensor.dtype)
    print(type(mge_tensor))
    new_tensor = mge_tensor.astype("float16")
    print(new_tensor)
    print(mge_tensor.device)
    print(type(mge_tensor.numpy()))
    assert lines(capsys) == [
        "float32",
        "<class 'engine.tensor.Tensor'>",
        "Tensor([0. 1. 2. 3. 4.], dtype=float16, device=xpux:0)",
        "xpux:0",
        "<class 'numpy.ndarray'>",
    ]
    assert mge_tensor.dtype == np.float32  # astype left the original alone
    assert mge.tensor(np.zeros(2)).dtype == np.float32  # float64 ndarrays become float32


def test_numpy_is_a_writable_copy():
    t = F.arange(5)
    arr = t.numpy()
    arr[0] = 100.0
    assert arr.flags.writeable
    assert t.numpy().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_tensor_alias(capsys):
    print(tensor([1, 2, 3]))
    print(Tensor([1.0, 2.0, 3.0]))
    assert mge.tensor is mge.Tensor
    assert lines(capsys) == [
        "Tensor([1 2 3], dtype=int32, device=xpux:0)",
        "Tensor([1. 2. 3.], device=xpux:0)",
    ]


def test_shape_size_item(capsys):
    matrix_tensor = mge.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    print(matrix_tensor.shape)
    print(matrix_tensor.size)
    a = mge.tensor([[5.0]])
    print(a.item(), type(a.item()))
    assert lines(capsys) == ["(2, 3)", "6", "5.0 <class 'float'>"]


ELEMENTWISE = [
    "Tensor([[3. 6. 3.]",
    " [3. 6. 3.]], device=xpux:0)",
    "Tensor([[1. 2. 1.]",
    " [1. 2. 1.]], device=xpux:0)",
    "Tensor([[2. 8. 2.]",
    " [2. 8. 2.]], device=xpux:0)",
    "Tensor([[2. 2. 2.]",
    " [2. 2. 2.]], device=xpux:0)",
]


def test_elementwise_operators(capsys):
    A = mge.tensor([[2.0, 4.0, 2.0], [2.0, 4.0, 2.0]])  # noqa: N806 - the tutorial's names
    B = mge.tensor([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])  # noqa: N806
    print(A + B)
    print(A - B)
    print(A * B)
    print(A / B)
    assert lines(capsys) == ELEMENTWISE
    print(F.add(A, B))
    print(F.sub(A, B))
    print(F.mul(A, B))
    print(F.div(A, B))
    assert lines(capsys) == ELEMENTWISE


def test_slicing_and_reshape(capsys):
    A = mge.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # noqa: N806
    print(A[1, :2])
    print(A.shape)
    A = A.reshape(3, 2)  # noqa: N806
    print(A.shape)
    np.random.seed(0)
    A = mge.tensor(np.random.random((2, 3, 4, 5)))  # noqa: N806
    print(A.shape)
    A = A.reshape(2, -1, 5)  # noqa: N806
    print(A.shape)
    assert lines(capsys) == [
        "Tensor([4. 5.], device=xpux:0)",
        "(2, 3)",
        "(3, 2)",
        "(2, 3, 4, 5)",
        "(2, 12, 5)",
    ]


def test_matmul_matches_numpy(capsys):
    x = mge.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    w = mge.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    p = F.matmul(x, w)
    print(p)
    x = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    p = np.matmul(x, w)
    print(p)
    assert lines(capsys) == [
        "Tensor([[35. 44.]",
        " [44. 56.]], device=xpux:0)",
        "[[35. 44.]",
        " [44. 56.]]",
    ]


def test_grad_manager(capsys):
    w = mge.tensor([3.0])
    x = mge.tensor([2.0])
    b = mge.tensor(-1.0)
    gm = GradManager().attach([w, b])
    with gm:
        p = F.mul(w, x)
        y = p + b
        gm.backward(y)
    print(w.grad)
    print(b.grad)
    assert lines(capsys) == ["Tensor([2.], device=xpux:0)", "Tensor(1.0, device=xpux:0)"]
    assert x.grad is None
    assert gm.detach([w]) is gm  # the tutorial's counterpart of attach()
    assert gm.attached_tensors() == [b]


def test_parameters_and_optimizer(capsys):
    w = mge.Parameter([3.0])
    x = mge.Tensor([2.0])
    b = mge.Parameter(-1.0)
    print(type(w))
    print(type(b))
    gm = GradManager().attach([w, b])
    with gm:
        p = F.mul(w, x)
        y = p + b
        gm.backward(y)
    print(type(w.grad))
    optimizer = optim.SGD([w, b], lr=0.01)
    optimizer.step()
    optimizer.clear_grad()
    print(w, w.grad)
    w_np = np.array([3.0])
    dw = np.array([2.0])
    lr = 0.01
    w_np = w_np - lr * dw
    print(w_np)
    assert lines(capsys) == [
        "<class 'engine.tensor.Parameter'>",
        "<class 'engine.tensor.Parameter'>",
        "<class 'engine.tensor.Tensor'>",
        "Parameter([2.98], device=xpux:0) None",
        "[2.98]",
    ]
    assert type(w) is mge.Parameter and b.item() == pytest.approx(-1.01)
    assert optimizer.step() is optimizer  # so optimizer.step().clear_grad() chains


def test_square_loss_on_ndarrays(capsys):
    pred = np.array([3, 3, 3, 3]).astype(np.float32)
    real = np.array([2, 8, 6, 1]).astype(np.float32)
    loss = np.mean((pred - real) ** 2)
    print(loss)
    loss = F.loss.square_loss(pred, real)
    print(loss)
    assert lines(capsys) == ["9.75", "Tensor(9.75, device=xpux:0)"]
    assert loss.item() == 9.75


# ---- the linear-regression exercise ---------------------------------------------------------


def generate_random_examples(n: int = 100, noise: float = 5) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's generator, without the plotting."""
    w = np.random.randint(5, 10)
    b = np.random.randint(-10, 10)
    print("The real w: {}, b: {}".format(w, b))  # noqa: UP032 - the tutorial's code
    data = np.zeros((n,))
    label = np.zeros((n,))
    for i in range(n):
        data[i] = np.random.uniform(-10, 10)
        label[i] = w * data[i] + b + np.random.uniform(-noise, noise)
    return data, label


def numpy_loop(data: np.ndarray, label: np.ndarray, epochs: int = 5, lr: float = 0.01) -> list:
    """The tutorial's NumPy for-loop; returns (w, b, loss) per epoch."""
    n = len(data)
    w = 0
    b = 0

    def linear_model(x):
        return w * x + b

    history = []
    for epoch in range(epochs):
        loss = 0
        sum_grad_w = 0
        sum_grad_b = 0
        for i in range(n):
            pred = linear_model(data[i])
            loss += (pred - label[i]) ** 2
            sum_grad_w += 2 * (pred - label[i]) * data[i]
            sum_grad_b += 2 * (pred - label[i])
        loss = loss / n
        grad_w = sum_grad_w / n
        grad_b = sum_grad_b / n
        w = w - lr * grad_w
        b = b - lr * grad_b
        print(f"epoch = {epoch}, w = {w:.3f}, b = {b:.3f}, loss = {loss:.3f}")
        history.append((w, b, loss))
    return history


def engine_loop(
    original_data: np.ndarray, original_label: np.ndarray, epochs: int = 5, lr: float = 0.01
) -> list:
    """The tutorial's MegEngine loop; returns (w, b, loss) per epoch."""
    data = mge.tensor(original_data)
    label = mge.tensor(original_label)
    w = mge.Parameter([0.0])
    b = mge.Parameter([0.0])

    def linear_model(x):
        return F.mul(w, x) + b

    gm = GradManager().attach([w, b])
    optimizer = optim.SGD([w, b], lr=lr)
    history = []
    for epoch in range(epochs):
        with gm:
            pred = linear_model(data)
            loss = F.loss.square_loss(pred, label)
            gm.backward(loss)
        optimizer.step().clear_grad()
        print(
            "epoch = {}, w = {:.3f}, b = {:.3f}, loss = {:.3f}".format(  # noqa: UP032
                epoch, w.item(), b.item(), loss.item()
            )
        )
        history.append((w.item(), b.item(), loss.item()))
    return history


@pytest.mark.parametrize("seed", [0, 2024])
def test_linear_regression_engine_matches_numpy(seed, capsys):
    np.random.seed(seed)
    original_data, original_label = generate_random_examples()
    head = lines(capsys)
    assert len(head) == 1 and head[0].startswith("The real w: ")
    expected = numpy_loop(original_data, original_label)
    numpy_lines = lines(capsys)
    got = engine_loop(original_data, original_label)
    engine_lines = lines(capsys)
    for (w0, b0, l0), (w1, b1, l1) in zip(expected, got, strict=True):
        assert w1 == pytest.approx(w0, rel=1e-5)
        assert b1 == pytest.approx(b0, rel=1e-5)
        assert l1 == pytest.approx(l0, rel=1e-5)
    assert engine_lines == numpy_lines
    assert len(engine_lines) == 5
    assert expected[-1][2] < expected[0][2] / 10  # it learns


def test_tutorial_generator_is_seeded(capsys):
    np.random.seed(0)
    first = generate_random_examples()
    np.random.seed(0)
    second = generate_random_examples()
    np.testing.assert_array_equal(first[0], second[0])
    assert lines(capsys) == ["The real w: 9, b: 5"] * 2
