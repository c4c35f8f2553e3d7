"""TraceError: MegEngine's error for a traced function whose replay would be wrong."""

from __future__ import annotations


class TraceError(Exception):
    """A traced function did something else than when it was recorded (MegEngine's kind).

    Messages start as MegEngine's do: 'trace error because operator mismatch', 'tensors not
    equals', 'too many instructions', 'mismature end' (sic), followed by what differed.
    """
