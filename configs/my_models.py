"""A model of your own for mgectl: configs/moons_plugin.yaml names it by class_path.

Any engine.module.Module subclass works. Constructor arguments come from the config's
init_args; mgectl also passes in_features, in_shape and outputs when the signature names them.
"""

import engine.functional as F
import engine.module as M


class ResidualBlock(M.Module):
    """x + Linear(relu(Linear(x))): the skip connection of a ResNet, on feature vectors."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.inner = M.Linear(width, width)
        self.outer = M.Linear(width, width)

    def forward(self, x):
        """Add the block's correction to its input."""
        return x + self.outer(F.relu(self.inner(x)))


class TinyResNet(M.Module):
    """An input layer, `blocks` residual blocks of size `width`, and a class-score head."""

    def __init__(self, in_features: int, outputs: int, width: int = 32, blocks: int = 2) -> None:
        super().__init__()
        self.stem = M.Linear(in_features, width)
        self.blocks = [ResidualBlock(width) for _ in range(blocks)]
        self.head = M.Linear(width, outputs)

    def forward(self, x):
        """Scores (N, outputs) for feature vectors x (N, in_features)."""
        x = F.relu(self.stem(x))
        for block in self.blocks:
            x = F.relu(block(x))
        return self.head(x)
