"""Worker processes that prepare a DataLoader's batches while the main process trains.

The main process hands each batch's position and task (its indices, or its samples read from
a stream) to the workers in turn; a worker builds the batch exactly as the main process would
(same per-batch random stream) and sends it back; the main process yields batches in order.
A worker with nothing more to give (its own stream ended) says so and gets no more tasks.
At most ``prefetch`` batches per worker are in flight. A failing sample, a worker that dies
and a ``timeout`` all end the epoch with one clear error, and every worker is stopped.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_BUILT, _FAILED, _EXHAUSTED = "built", "failed", "exhausted"  # what a worker answers
_END = object()  # no task left
_POLL_SECONDS = 0.2  # how often a waiting main process checks that its workers are alive
_STOP_SECONDS = 0.2  # how long a worker gets to exit before it is terminated (its work is moot)


@dataclass(frozen=True)
class WorkerInfo:
    """Who is running: the worker's number, how many there are, and the loader's seed."""

    idx: int
    worker: int
    seed: int


_info: list[WorkerInfo] = []


def get_worker_info() -> WorkerInfo | None:
    """The WorkerInfo inside a DataLoader worker process, None in the main process."""
    return _info[0] if _info else None


class SampleError(RuntimeError):
    """A batch could not be built; says which sample (or samples) and why."""

    @classmethod
    def naming(cls, where: str, exc: BaseException) -> SampleError:
        """`DataLoader failed on <where>: <error type>: <message>`."""
        return cls(f"DataLoader failed on {where}: {type(exc).__name__}: {exc}")


class Exhausted(Exception):  # noqa: N818 - a signal, like StopIteration, not an error
    """Raised by a worker's build function when it has no batch left to give."""


def _context() -> Any:
    # fork: workers inherit the dataset and transforms without pickling them, as MegEngine's do
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _work(build: Callable[[int, Any], Any], inbox: Any, results: Any, info: WorkerInfo) -> None:
    """A worker's loop: build each requested batch until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _info[:] = [info]
    exhausted = False
    while True:
        task = inbox.get()
        if task is None:
            return
        position, payload = task
        if exhausted:  # tasks sent before the main process heard: answer them all the same
            results.put((position, _EXHAUSTED, None))
            continue
        try:
            results.put((position, _BUILT, build(position, payload)))
        except Exhausted:
            exhausted = True
            results.put((position, _EXHAUSTED, None))
        except BaseException as exc:  # report everything, including KeyboardInterrupt
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            results.put((position, _FAILED, (type(exc), _message(exc, position), text)))


def _message(exc: BaseException, position: int) -> str:
    """What failed, for "DataLoader worker N failed on <this>"."""
    if isinstance(exc, SampleError):
        return str(exc).removeprefix("DataLoader failed on ")
    return f"batch {position}: {type(exc).__name__}: {exc}"


def run_workers(
    build: Callable[[int, Any], Any],
    tasks: Iterator[Any],
    num_workers: int,
    seed: int,
    timeout: float = 0.0,
    prefetch: int = 2,
) -> Iterator[Any]:
    """Yield build(position, task) for every task, in order, built by workers.

    Tasks go to the workers in turn, skipping those that raised Exhausted; the batches end
    when the tasks do or when every worker is exhausted. Which worker gets which task depends
    only on the answers taken in order, so the batches never depend on timing.
    """
    ctx = _context()
    results = ctx.Queue()
    inboxes = [ctx.Queue() for _ in range(num_workers)]
    workers = []
    for i in range(num_workers):
        info = WorkerInfo(i, num_workers, seed)
        w = ctx.Process(target=_work, args=(build, inboxes[i], results, info), daemon=True)
        w.start()
        workers.append(w)
    active = set(range(num_workers))
    turn = 0  # the next worker to ask, if it is still active
    owner: dict[int, int] = {}  # position -> the worker building it
    sent = 0
    done = 0
    ready: dict[int, tuple[str, Any]] = {}
    failure: list[Exception] = []  # the tasks' own error, raised after the batches before it

    def send() -> bool:
        nonlocal sent, turn
        if not active or failure:
            return False
        try:
            task = next(tasks, _END)
        except Exception as exc:
            failure.append(exc)
            return False
        if task is _END:
            return False
        while turn not in active:
            turn = (turn + 1) % num_workers
        inboxes[turn].put((sent, task))
        owner[sent] = turn
        turn = (turn + 1) % num_workers
        sent += 1
        return True

    try:
        for _ in range(prefetch * num_workers):
            if not send():
                break
        while done < sent:
            while done not in ready:
                position, status, payload = _receive(results, workers, timeout, done)
                ready[position] = (status, payload)
            status, payload = ready.pop(done)
            worker = owner.pop(done)
            done += 1
            if status == _FAILED:
                _reraise(worker, *payload)
            if status == _EXHAUSTED:
                active.discard(worker)
            send()  # keep the workers busy while the caller uses this batch
            if status == _BUILT:
                yield payload
        if failure:
            raise failure[0]
    finally:
        _stop(workers, inboxes, results)


def _receive(results: Any, workers: list, timeout: float, position: int) -> tuple:
    start = time.monotonic()
    while True:
        try:
            return results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            pass
        for i, w in enumerate(workers):
            if not w.is_alive():
                raise RuntimeError(
                    f"DataLoader worker {i} (pid {w.pid}) exited unexpectedly with code "
                    f"{w.exitcode} while batch {position} was being prepared"
                )
        if timeout > 0 and time.monotonic() - start > timeout:
            raise RuntimeError(
                f"DataLoader timed out after {timeout} s waiting for batch {position}"
            )


def _reraise(worker: int, exc_type: type, message: str, text: str) -> None:
    """Raise the worker's error in the main process: same type when it can be rebuilt."""
    full = f"DataLoader worker {worker} failed on {message}\n\nIn the worker:\n{text}"
    if exc_type is SampleError:
        raise SampleError(full)
    try:
        error = exc_type(full)
    except Exception:
        error = RuntimeError(full)
    raise error from None


def _stop(workers: list, inboxes: list, results: Any) -> None:
    """Tell every worker to stop, wait briefly, terminate stragglers, release the queues."""
    for q in inboxes:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + _STOP_SECONDS
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.terminate()
            w.join(_STOP_SECONDS)
    for q in [*inboxes, results]:
        q.cancel_join_thread()  # undelivered batches must not block interpreter exit
        q.close()


__all__ = ["Exhausted", "SampleError", "WorkerInfo", "get_worker_info", "run_workers"]
