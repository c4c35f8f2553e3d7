"""Sequential: modules applied one after another, named "0", "1", ... or by OrderedDict keys."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from .module import Module


class Sequential(Module):
    """A chain of modules; children are attributes named by position or by the dict's keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer_keys: list[str] = []
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), module) for i, module in enumerate(args)]
        for key, module in items:
            setattr(self, key, module)
            self.layer_keys.append(key)

    @property
    def layer_values(self) -> list[Module]:
        """The modules in order."""
        return [getattr(self, key) for key in self.layer_keys]

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            pairs = zip(self.layer_keys[idx], self.layer_values[idx], strict=True)
            return type(self)(OrderedDict(pairs))
        return getattr(self, self.layer_keys[idx])

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self.layer_keys[idx], module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = self.layer_keys[idx] if isinstance(idx, slice) else [self.layer_keys[idx]]
        for key in keys:
            delattr(self, key)
            self.layer_keys.remove(key)

    def __len__(self) -> int:
        return len(self.layer_keys)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layer_values)

    def forward(self, inp: Any) -> Any:
        """Feed inp through every module in order."""
        for layer in self.layer_values:
            inp = layer(inp)
        return inp
