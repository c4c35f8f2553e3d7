"""Imports point one way: a table of (package, what it must never import), checked statically.

Every import statement counts, also one inside a function: a deferred import is still a
dependency, it only hides a cycle. Adding a rule is one line in RULES.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (package or module, the packages it must never import)
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("engine.core", ("engine.tensor", "engine.functional")),  # coerce etc. sit below Tensor
    ("engine.ops", ("engine.tensor", "engine.functional")),  # kernels see arrays, never Tensors
    ("engine.tensor", ("engine.functional",)),
    ("engine.distributed", ("engine.functional", "engine.optimizer", "engine.autodiff")),
    ("engine.optimizer", ("engine.jit",)),  # a trace finds optimizers; they never load it
    ("engine", ("engine.testing",)),  # test aids are for tests; engine.testing itself is exempt
    ("mgectl.train", ("mgectl.report",)),  # the train verb hands the loop its reporters
    ("mgectl", ("engine.testing",)),
]


def _module_files(name: str) -> list[tuple[str, Path]]:
    """(dotted module name, source file) for a module or every module of a package."""
    path = ROOT.joinpath(*name.split("."))
    if path.with_suffix(".py").is_file():
        return [(name, path.with_suffix(".py"))]
    files = []
    for file in sorted(path.rglob("*.py")):
        parts = file.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files.append((".".join(parts), file))
    return files


def imported_names(module: str, file: Path) -> set[str]:
    """Absolute dotted names a source file imports (`from a import b` gives a and a.b)."""
    is_package = file.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """'module imports name' for each forbidden import in `package` (the forbidden package's
    own modules are exempt from its rule)."""
    found = []
    for module, file in _module_files(package):
        if any(_within(module, f) for f in forbidden):
            continue
        for name in sorted(imported_names(module, file)):
            if any(_within(name, f) for f in forbidden):
                found.append(f"{module} imports {name}")
    return found


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_dependency_direction(package: str, forbidden: tuple[str, ...]) -> None:
    assert _module_files(package), f"{package} has no source files: a stale rule"
    assert violations(package, forbidden) == []


def test_the_checker_sees_relative_and_deferred_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from ..functional import nn\n"
        "from . import tape\n"
        "def f():\n"
        "    import engine.autodiff.grad_manager\n"
    )
    names = imported_names("engine.core.mod", source)
    assert {"engine.functional", "engine.functional.nn", "engine.core.tape"} <= names
    assert "engine.autodiff.grad_manager" in names


def _loaded_after(code: str) -> set[str]:
    """The engine modules a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return {m for m in json.loads(done.stdout.splitlines()[-1]) if m.startswith("engine")}


LAZY = (
    "engine.autodiff",
    "engine.data",
    "engine.device",
    "engine.distributed",
    "engine.functional",
    "engine.jit",
    "engine.module",
    "engine.optimizer",
    "engine.random",
    "engine.serialization",
)


def test_import_engine_loads_only_the_core() -> None:
    loaded = _loaded_after("import engine")
    assert {"engine.tensor", "engine.core.op"} <= loaded
    assert sorted(m for m in loaded if any(_within(m, p) for p in LAZY)) == []


# Each submodule MegEngine users reach as `mge.X`, and a real use of it (run as `m = mge.X`).
FIRST_USE = {
    "functional": "assert m.relu(mge.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]",
    "optimizer": "assert m.SGD.__name__ == 'SGD'",
    "device": "assert m.get_device_count('cpu') >= 1",
    "module": "assert m.Linear(2, 3).weight.shape == (3, 2)",
    "autodiff": (
        "x = mge.Parameter([3.0]); gm = m.GradManager().attach([x])\n"
        "with gm:\n    gm.backward(x * x)\n"
        "assert x.grad.tolist() == [6.0]"
    ),
    "data": "assert list(m.SequentialSampler(range(5), batch_size=2)) == [[0, 1], [2, 3], [4]]",
    "jit": "assert m.trace(lambda x: x * 2)(mge.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]",
}


@pytest.mark.parametrize("name", sorted(FIRST_USE))
def test_submodules_are_attributes_loaded_on_first_use(name: str) -> None:
    code = (
        "import sys\n"
        "import engine as mge\n"
        f"assert 'engine.{name}' not in sys.modules, 'loaded by import engine'\n"
        f"m = mge.{name}\n"
        f"assert m is sys.modules['engine.{name}']\n"
        f"{FIRST_USE[name]}\n"
    )
    loaded = _loaded_after(code)
    assert f"engine.{name}" in loaded
    assert "engine.distributed" not in loaded  # F.distributed loads on first use too
    assert "engine.data.tabular" not in loaded and "engine.data.synthetic" not in loaded
