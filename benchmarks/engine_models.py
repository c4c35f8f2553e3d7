"""The engine's W3 and W5 models (imported only once the engine has a module API)."""

from __future__ import annotations

from typing import Any

import engine.functional as F
import engine.module as M


class MLP(M.Module):
    """Linear-ReLU-Linear-ReLU-Linear."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.fc1 = M.Linear(dims[0], dims[1])
        self.fc2 = M.Linear(dims[1], dims[2])
        self.fc3 = M.Linear(dims[2], dims[3])

    def forward(self, x: Any) -> Any:
        """Logits."""
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet(M.Module):
    """conv-relu-pool x2, flatten, linear-relu-linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = M.Conv2d(1, 6, 5)
        self.conv2 = M.Conv2d(6, 16, 5)
        self.fc1 = M.Linear(256, 120)
        self.fc2 = M.Linear(120, 10)

    def forward(self, x: Any) -> Any:
        """Logits."""
        x = F.max_pool2d(F.relu(self.conv1(x)), kernel_size=2, stride=2)
        x = F.max_pool2d(F.relu(self.conv2(x)), kernel_size=2, stride=2)
        return self.fc2(F.relu(self.fc1(F.flatten(x, 1))))
