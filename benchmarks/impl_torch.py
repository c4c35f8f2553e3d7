"""The workloads in idiomatic PyTorch (CPU, or CUDA for --device gpu0)."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.case import Case, UnavailableError, Values, no_sync, training_case
from benchmarks.spec import (
    W1_LR,
    W3_LR,
    W3_MOMENTUM,
    W5_LR,
    W5_MOMENTUM,
    plan_for,
    state_dict,
)

try:
    import torch
    import torch.nn.functional as TF
    from torch import nn
except ImportError as exc:  # torch is optional: its rows are skipped
    raise UnavailableError(f"torch is not importable ({exc})") from exc

Data = dict[str, np.ndarray]


def setup(threads: int) -> None:
    """Pin intra-op threads and keep CUDA float32 math exact (no TF32)."""
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def version() -> str:
    """torch.__version__."""
    return str(torch.__version__)


class MLP(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear, named like the engine's (fc1, fc2, fc3)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dims[0], dims[1])
        self.fc2 = nn.Linear(dims[1], dims[2])
        self.fc3 = nn.Linear(dims[2], dims[3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits."""
        return self.fc3(TF.relu(self.fc2(TF.relu(self.fc1(x)))))


class LeNet(nn.Module):
    """conv-relu-pool x2, flatten, linear-relu-linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2 = nn.Linear(256, 120), nn.Linear(120, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits."""
        x = TF.max_pool2d(TF.relu(self.conv1(x)), 2, 2)
        x = TF.max_pool2d(TF.relu(self.conv2(x)), 2, 2)
        return self.fc2(TF.relu(self.fc1(torch.flatten(x, 1))))


def _as_torch(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """A private copy of `arr` on `device` (int labels become int64, as torch wants)."""
    tensor = torch.from_numpy(arr.copy())
    if tensor.dtype == torch.int32:
        tensor = tensor.long()
    return tensor.to(device)


def _train_case(
    model: nn.Module,
    workload: str,
    data: Data,
    lr: float,
    momentum: float,
    dev: torch.device,
    sync: Any,
) -> Case:
    """Load the shared weights, then one cross-entropy SGD step per call."""
    weights = {
        k: torch.from_numpy(v).reshape(-1)
        if "conv" in k and k.endswith("bias")
        else torch.from_numpy(v)
        for k, v in state_dict(data, workload).items()
    }
    model.load_state_dict(weights)
    model.to(dev)
    prefix = workload.lower()
    x, label = _as_torch(data[f"{prefix}.x"], dev), _as_torch(data[f"{prefix}.label"], dev)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    def step() -> torch.Tensor:
        """Forward, backward, update, clear."""
        loss = TF.cross_entropy(model(x), label)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return training_case(step, lambda loss: loss.item(), sync)


def w1(data: Data, dev: torch.device, sync: Any) -> Case:
    """Linear regression with two (1,) parameters."""
    x, y = _as_torch(data["w1.x"], dev), _as_torch(data["w1.y"], dev)
    w = _as_torch(data["w1.w"], dev).requires_grad_()
    b = _as_torch(data["w1.b"], dev).requires_grad_()
    opt = torch.optim.SGD([w, b], lr=W1_LR)

    def step() -> torch.Tensor:
        """Forward, backward, update, clear."""
        loss = TF.mse_loss(w * x + b, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return training_case(step, lambda loss: loss.item(), sync)


def w2(data: Data, recorded: bool, ops: int, dev: torch.device) -> Case:
    """`a + b` on (4,) tensors; `recorded` makes `a` require grad so autograd records."""
    a, b = _as_torch(data["w2.a"], dev), _as_torch(data["w2.b"], dev)
    if recorded:
        a.requires_grad_()

    def step() -> torch.Tensor:
        """`ops` additions; returns the last sum."""
        c = a
        for _ in range(ops):
            c = a + b
        return c

    def probe() -> Values:
        """The sum, and d(sum . dy)/da when recorded."""
        c = a + b
        values = {"c": c.detach().cpu().numpy()}
        if recorded:
            c.backward(_as_torch(data["w2.dy"], dev))
            assert a.grad is not None
            values["grad_a"] = a.grad.cpu().numpy()
            a.grad = None
        return values

    return Case(step=step, probe=probe)


def w4(data: Data, dev: torch.device, sync: Any) -> Case:
    """y = x @ w, backward with a fixed dy; gradients are dropped after each step."""
    x = _as_torch(data["w4.x"], dev).requires_grad_()
    w = _as_torch(data["w4.w"], dev).requires_grad_()
    dy = _as_torch(data["w4.dy"], dev)

    def step() -> torch.Tensor:
        """Forward and backward to both inputs."""
        x.grad = w.grad = None
        y = x @ w
        y.backward(dy)
        return y

    def probe() -> Values:
        """Output and both gradients."""
        y = step()
        assert x.grad is not None and w.grad is not None
        return {
            "y": y.detach().cpu().numpy(),
            "grad_x": x.grad.cpu().numpy(),
            "grad_w": w.grad.cpu().numpy(),
        }

    return Case(step=step, probe=probe, sync=sync)


def build(workload: str, data: Data, device: str = "cpu0", quick: bool = False) -> Case:
    """The PyTorch Case of `workload` on `device` ('cpu0' or 'gpu0')."""
    if device == "gpu0":
        if not torch.cuda.is_available():
            raise UnavailableError("torch has no CUDA device")
        dev, sync = torch.device("cuda:0"), torch.cuda.synchronize
    else:
        dev, sync = torch.device("cpu"), no_sync
    if workload == "W1":
        return w1(data, dev, sync)
    if workload in ("W2a", "W2b"):
        return w2(data, workload == "W2b", plan_for(workload, quick).ops_per_step, dev)
    if workload == "W3":
        dims = (data["w3.x"].shape[1], *(data[f"w3.fc{i}.weight"].shape[0] for i in (1, 2, 3)))
        return _train_case(MLP(dims), "W3", data, W3_LR, W3_MOMENTUM, dev, sync)
    if workload == "W4":
        return w4(data, dev, sync)
    if workload == "W5":
        return _train_case(LeNet(), "W5", data, W5_LR, W5_MOMENTUM, dev, sync)
    raise ValueError(f"unknown workload {workload!r}")
