"""Hand-written NumPy with manual gradients: the reference and the limit of a NumPy backend.

Float32 throughout, buffers preallocated where that is natural, updates in place.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.case import Case, UnavailableError, Values, training_case
from benchmarks.spec import W1_LR, W3_LR, W3_MOMENTUM, W5_LR, W5_MOMENTUM, plan_for

Data = dict[str, np.ndarray]


class SGD:
    """SGD with optional momentum (v = m * v + g; p -= lr * v), updating arrays in place."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.0) -> None:
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = [np.zeros_like(p) for p in params] if momentum else []

    def step(self, grads: list[np.ndarray]) -> None:
        """Apply one update; the gradient buffers are used as scratch space."""
        for i, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            update = grad
            if self.momentum:
                update = self.velocity[i]
                update *= self.momentum
                update += grad
            np.multiply(update, self.lr, out=grad)
            param -= grad


def cross_entropy(logits: np.ndarray, label: np.ndarray, dlogits: np.ndarray) -> float:
    """Mean softmax cross-entropy; writes d(loss)/d(logits) into `dlogits`."""
    batch = len(label)
    rows = np.arange(batch)
    np.subtract(logits, logits.max(axis=1, keepdims=True), out=dlogits)
    picked = dlogits[rows, label].astype(np.float64)
    np.exp(dlogits, out=dlogits)
    total = dlogits.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0], dtype=np.float64) - picked))
    dlogits /= total
    dlogits[rows, label] -= 1
    dlogits *= np.float32(1 / batch)
    return loss


def sum_rows(a: np.ndarray) -> np.ndarray:
    """Column sums of a 2-D array through BLAS (far faster than a.sum(axis=0) when tall)."""
    return np.ones(a.shape[0], a.dtype) @ a


def w1(data: Data) -> Case:
    """Linear regression y = w * x + b, square loss, full-batch SGD."""
    x, y = data["w1.x"], data["w1.y"]
    w, b = data["w1.w"].copy(), data["w1.b"].copy()
    n = np.float32(len(x))
    diff = np.empty_like(x)
    grads = [np.empty_like(w), np.empty_like(b)]
    opt = SGD([w, b], W1_LR)

    def step() -> float:
        """Forward, backward and update."""
        np.multiply(x, w, out=diff)
        np.add(diff, b, out=diff)
        np.subtract(diff, y, out=diff)
        loss = np.dot(diff, diff) / n
        grads[0][0] = 2 * np.dot(diff, x) / n
        grads[1][0] = 2 * diff.sum() / n
        opt.step(grads)
        return float(loss)

    return training_case(step, float)


def w2(data: Data, recorded: bool, ops: int) -> Case:
    """`a + b` on tiny arrays; `recorded` appends each op to a tape, the least a recorder does."""
    a, b, dy = data["w2.a"], data["w2.b"], data["w2.dy"]
    tape: list[tuple[object, ...]] = []

    def step() -> np.ndarray:
        """`ops` additions; returns the last sum."""
        c = a
        if recorded:
            for _ in range(ops):
                c = a + b
                tape.append((np.add, a, b, c))
            tape.clear()
        else:
            for _ in range(ops):
                c = a + b
        return c

    def probe() -> Values:
        """The sum, and d(sum . dy)/da when recorded."""
        values = {"c": a + b}
        if recorded:
            values["grad_a"] = dy.copy()
        return values

    return Case(step=step, probe=probe)


class MLP:
    """Linear-ReLU-Linear-ReLU-Linear with preallocated activations and gradients."""

    def __init__(self, data: Data) -> None:
        self.x, self.label = data["w3.x"], data["w3.label"]
        self.params = [data[f"w3.fc{i}.{k}"].copy() for i in (1, 2, 3) for k in ("weight", "bias")]
        self.grads = [np.empty_like(p) for p in self.params]
        batch = len(self.x)
        self.acts = [np.empty((batch, w.shape[0]), np.float32) for w in self.params[::2]]
        self.dacts = [np.empty_like(a) for a in self.acts]
        self.ones = np.ones(batch, np.float32)  # bias gradients as ones @ dout
        self.opt = SGD(self.params, W3_LR, W3_MOMENTUM)

    def step(self) -> float:
        """Forward, backward and update."""
        inputs = [self.x, *self.acts[:-1]]
        for i, (src, out) in enumerate(zip(inputs, self.acts, strict=True)):
            np.matmul(src, self.params[2 * i].T, out=out)
            out += self.params[2 * i + 1]
            if i < 2:
                np.maximum(out, 0, out=out)
        loss = cross_entropy(self.acts[-1], self.label, self.dacts[-1])
        for i in (2, 1, 0):
            dout = self.dacts[i]
            if i < 2:
                dout *= self.acts[i] > 0
            np.matmul(dout.T, inputs[i], out=self.grads[2 * i])
            np.matmul(self.ones, dout, out=self.grads[2 * i + 1])
            if i > 0:
                np.matmul(dout, self.params[2 * i], out=self.dacts[i - 1])
        self.opt.step(self.grads)
        return loss


def conv_forward(cols_src: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple:
    """5x5 valid convolution of NHWC input by im2col and one matmul; returns (out, cols)."""
    batch, height, width, _ = cols_src.shape
    out_c, k = weight.shape[0], weight.shape[2]
    ho, wo = height - k + 1, width - k + 1
    windows = sliding_window_view(cols_src, (k, k), axis=(1, 2))  # (N, Ho, Wo, C, k, k)
    cols = windows.reshape(batch * ho * wo, -1)
    out = cols @ weight.reshape(out_c, -1).T
    out += bias.reshape(-1)
    return out.reshape(batch, ho, wo, out_c), cols


def col2im(dcols: np.ndarray, shape: tuple[int, ...], k: int) -> np.ndarray:
    """Scatter-add (N, Ho, Wo, C, k, k) window gradients back to an NHWC input of `shape`."""
    dx = np.zeros(shape, np.float32)
    ho, wo = dcols.shape[1], dcols.shape[2]
    for i in range(k):
        for j in range(k):
            dx[:, i : i + ho, j : j + wo, :] += dcols[..., i, j]
    return dx


def pool_forward(x: np.ndarray) -> np.ndarray:
    """2x2 max pool, stride 2, of an NHWC array (two pairwise maxima: faster than a reduce)."""
    n, h, w, c = x.shape
    rows = x.reshape(n, h // 2, 2, w // 2, 2 * c)
    pairs = np.maximum(rows[:, :, 0], rows[:, :, 1])  # (n, h/2, w/2, 2c): max over window rows
    return np.maximum(pairs[..., :c], pairs[..., c:])


def pool_backward(x: np.ndarray, out: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Route each pooled gradient to the window's maximum (ties only occur at ReLU zeros)."""
    n, h, w, c = x.shape
    windows = x.reshape(n, h // 2, 2, w // 2, 2, c)
    mask = windows == out[:, :, None, :, None, :]
    return (mask * dout[:, :, None, :, None, :]).reshape(x.shape)


class LeNet:
    """conv-relu-pool x2, linear-relu-linear; activations kept NHWC so im2col needs no transpose."""

    def __init__(self, data: Data) -> None:
        self.x = np.ascontiguousarray(data["w5.x"].transpose(0, 2, 3, 1))
        self.label = data["w5.label"]
        names = [
            f"{layer}.{k}" for layer in ("conv1", "conv2", "fc1", "fc2") for k in ("weight", "bias")
        ]
        self.params = [data[f"w5.{name}"].copy() for name in names]
        self.opt = SGD(self.params, W5_LR, W5_MOMENTUM)
        self.dlogits = np.empty((len(self.x), 10), np.float32)

    def step(self) -> float:
        """Forward, backward and update."""
        cw1, cb1, cw2, cb2, fw1, fb1, fw2, fb2 = self.params
        batch = len(self.x)
        z1, cols1 = conv_forward(self.x, cw1, cb1)
        a1 = np.maximum(z1, 0, out=z1)
        p1 = pool_forward(a1)
        z2, cols2 = conv_forward(p1, cw2, cb2)
        a2 = np.maximum(z2, 0, out=z2)
        p2 = pool_forward(a2)
        flat = p2.transpose(0, 3, 1, 2).reshape(batch, -1)  # NCHW order, as F.flatten sees it
        h = flat @ fw1.T
        h += fb1
        np.maximum(h, 0, out=h)
        logits = h @ fw2.T
        logits += fb2
        loss = cross_entropy(logits, self.label, self.dlogits)

        d = self.dlogits
        g_fw2, g_fb2 = d.T @ h, sum_rows(d)
        dh = d @ fw2
        dh *= h > 0
        g_fw1, g_fb1 = dh.T @ flat, sum_rows(dh)
        dp2 = (dh @ fw1).reshape(p2.shape[0], p2.shape[3], p2.shape[1], p2.shape[2])
        dz2 = pool_backward(a2, p2, dp2.transpose(0, 2, 3, 1))
        dz2 *= a2 > 0
        dz2 = dz2.reshape(-1, cw2.shape[0])
        g_cw2 = (dz2.T @ cols2).reshape(cw2.shape)
        g_cb2 = sum_rows(dz2).reshape(cb2.shape)
        dcols2 = (dz2 @ cw2.reshape(cw2.shape[0], -1)).reshape(*a2.shape[:3], *cw2.shape[1:])
        dp1 = col2im(dcols2, p1.shape, cw2.shape[2])
        dz1 = pool_backward(a1, p1, dp1)
        dz1 *= a1 > 0
        dz1 = dz1.reshape(-1, cw1.shape[0])
        g_cw1 = (dz1.T @ cols1).reshape(cw1.shape)
        g_cb1 = sum_rows(dz1).reshape(cb1.shape)
        self.opt.step([g_cw1, g_cb1, g_cw2, g_cb2, g_fw1, g_fb1, g_fw2, g_fb2])
        return loss


def w4(data: Data) -> Case:
    """y = x @ w and its gradients dx = dy @ w.T, dw = x.T @ dy, into preallocated buffers."""
    x, w, dy = data["w4.x"], data["w4.w"], data["w4.dy"]
    y, dx, dw = np.empty_like(x), np.empty_like(x), np.empty_like(w)

    def step() -> None:
        """Forward and backward."""
        np.matmul(x, w, out=y)
        np.matmul(dy, w.T, out=dx)
        np.matmul(x.T, dy, out=dw)

    def probe() -> Values:
        """Output and both gradients."""
        step()
        return {"y": y.copy(), "grad_x": dx.copy(), "grad_w": dw.copy()}

    return Case(step=step, probe=probe)


def build(workload: str, data: Data, device: str = "cpu0", quick: bool = False) -> Case:
    """The NumPy Case of `workload` (CPU only)."""
    if device != "cpu0":
        raise UnavailableError("numpy runs on the CPU only")
    if workload == "W1":
        return w1(data)
    if workload in ("W2a", "W2b"):
        return w2(data, workload == "W2b", plan_for(workload, quick).ops_per_step)
    if workload == "W3":
        return training_case(MLP(data).step, float)
    if workload == "W4":
        return w4(data)
    if workload == "W5":
        return training_case(LeNet(data).step, float)
    raise ValueError(f"unknown workload {workload!r}")
