"""Your own model or loss class, named in YAML by ``class_path`` (the LightningCLI convention).

The class is imported from the config's folder (``python_path``, recorded as an absolute
folder in the resolved config and checkpoints) or the Python path. Its constructor gets
``init_args``, plus ``in_features``, ``in_shape`` and ``outputs`` when its signature names them,
so a model can size itself from the data.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import TYPE_CHECKING, Any

import engine.functional as F
import engine.module as M
from mgectl.errors import UserError

if TYPE_CHECKING:
    from mgectl.build.models import InputShape
    from mgectl.config.sections import PluginModelConfig


def import_class(class_path: str, python_path: str | None, where: str) -> type:
    """The class CLASS_PATH names, imported with PYTHON_PATH first on sys.path."""
    module_name, _, class_name = class_path.rpartition(".")
    added = python_path is not None and python_path not in sys.path
    if added:
        sys.path.insert(0, python_path)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure of user code is the user's to fix
        searched = f" (searched {python_path} and the Python path)" if python_path else ""
        raise UserError(
            f"{where}.class_path: cannot import {module_name}{searched}: "
            f"{type(error).__name__}: {error}",
            hint="check the module name and that the .py file sits beside the config",
        ) from None
    finally:
        if added:
            sys.path.remove(python_path)
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise UserError(
            f"{where}.class_path: {module_name} has no class {class_name}",
            hint=f"classes there: {', '.join(_classes(module)) or 'none'}",
        )
    return found


def _classes(module: Any) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    )


def construct(cls: type, init_args: dict[str, Any], offered: dict[str, Any], where: str) -> Any:
    """CLS(**init_args, **the offered values its signature names); errors name WHERE."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    extra = {
        key: value
        for key, value in offered.items()
        if key not in init_args and (key in parameters or takes_any)
    }
    try:
        return cls(**init_args, **extra)
    except Exception as error:
        raise UserError(
            f"{where}: building {cls.__module__}.{cls.__qualname__} failed: "
            f"{type(error).__name__}: {error}",
            hint=f"check {where}.init_args against the class's constructor",
        ) from None


class OneOutput(M.Module):
    """Your one-output model, its (N, 1) outputs flattened to (N,) like the labels.

    Without this, (N, 1) predictions against (N,) targets broadcast to (N, N) inside the loss
    and training quietly fits the mean.
    """

    def __init__(self, model: M.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Any) -> Any:
        """The wrapped model's output, (N, 1) flattened to (N,)."""
        y = self.model(x)
        return F.flatten(y) if y.ndim == 2 and y.shape[1] == 1 else y


def build_plugin(cfg: PluginModelConfig, shape: InputShape, outputs: int) -> M.Module:
    """The user's model class from ``model.class_path``, built for the data's shape."""
    cls = import_class(cfg.class_path, cfg.python_path, "model")
    in_shape = tuple(shape.image) if shape.image else (shape.features,)
    offered = {"in_features": shape.features, "in_shape": in_shape, "outputs": outputs}
    model = construct(cls, cfg.init_args, offered, "model")
    if not isinstance(model, M.Module):
        raise UserError(
            f"model.class_path: {cfg.class_path} is not an engine.module.Module subclass",
            hint="subclass engine.module.Module and define forward()",
        )
    return OneOutput(model) if outputs == 1 else model
