"""Pick the device a run trains on, with a one-line error where it does not exist."""

from __future__ import annotations

from engine.core.device import Device, as_device
from mgectl.errors import UserError


def resolve_device(name: str) -> Device:
    """The engine Device for NAME; a missing GPU is a UserError, never a silent CPU fallback."""
    try:
        return as_device(name)
    except (RuntimeError, ValueError) as error:
        raise UserError(
            str(error),
            hint="train on the CPU with --device cpu0 (xpux picks a GPU only when one answers)",
        ) from None


def describe_device(name: str, device: Device) -> str:
    """'xpux -> cpu0' when the name was resolved to something else, else just the name."""
    return name if name == device.physical else f"{name} -> {device.physical}"
