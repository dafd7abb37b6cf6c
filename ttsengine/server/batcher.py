"""Cross-request dynamic batching on asyncio.

Requests arrive prepared (``Synthesizer.prepare``: the front end ran on the request's own
thread, never on a batch worker) and are grouped, up to ``max_batch`` requests and waiting
at most ``max_wait_ms`` after the first, into one ``Synthesizer.synthesize_prepared`` call
on a worker thread (the event loop never blocks): the segments of every request in the
group, whatever its speaker, speed or output rate, run together as padded batches of at
most ``max_batch`` rows. ``max_queue`` bounds the requests waiting or running: beyond it
:class:`QueueFull` is raised at once.

Fairness: a request whose estimated audio (``cost``, seconds) is over ``large_seconds``
runs in a lane of its own, on a second worker, so small requests are never queued
behind a large one (they keep batching among themselves meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable


__all__ = ["Batcher", "QueueFull"]

logger = logging.getLogger("ttsengine")


class QueueFull(Exception):
    """The batcher holds ``max_queue`` requests already."""


@dataclass
class _Item:
    prepared: Any  # a ttsengine.synthesizer.PreparedText
    future: asyncio.Future = field(repr=False)


#: Estimated audio seconds beyond which a request runs in the large lane.
LARGE_SECONDS = 20.0


class Batcher:
    """Groups concurrent requests into batches for one synthesizer.

    ``on_batch(size, seconds)`` is called after every batch (metrics); ``batches`` and
    ``batch_sizes`` count them too. Two lanes (small and large requests, see the module's
    docstring) each batch and run on their own worker thread.
    """

    def __init__(self, synth: Any, *, max_batch: int, max_wait_ms: float, max_queue: int,
                 on_batch: Callable[[int, float], None] | None = None,
                 large_seconds: float = LARGE_SECONDS) -> None:
        self.synth = synth
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.on_batch = on_batch
        self.large_seconds = large_seconds
        self.batches = 0
        self.batch_sizes: list[int] = []
        self._lanes = [_Lane(self, "small"), _Lane(self, "large")]
        self._depth = 0  # waiting + running
        self._started = False

    @property
    def depth(self) -> int:
        """Requests waiting or being synthesized."""
        return self._depth

    def start(self) -> None:
        for lane in self._lanes:
            lane.start()
        self._started = True

    async def stop(self) -> None:
        self._started = False
        for lane in self._lanes:
            await lane.stop()

    def try_reserve(self) -> bool:
        """Takes a queue slot for work outside batches (a streamed request); False if full.
        Give it back with :meth:`release`."""
        if self._depth >= self.max_queue:
            return False
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1

    async def submit(self, prepared: Any) -> Any:
        """The Audio of a ``Synthesizer.prepare`` result (its estimated ``seconds`` pick its
        lane); raises QueueFull or the synthesizer's error."""
        if not self._started:
            raise RuntimeError("batcher not started")
        if self._depth >= self.max_queue:
            raise QueueFull()
        future = asyncio.get_running_loop().create_future()
        self._lanes[1 if prepared.seconds > self.large_seconds else 0].add(_Item(prepared, future))
        self._depth += 1
        try:
            return await future
        finally:
            self._depth -= 1

    def _batch_done(self, size: int, seconds: float) -> None:
        self.batches += 1
        self.batch_sizes.append(size)
        if self.on_batch is not None:
            self.on_batch(size, seconds)

    def _synthesize(self, batch: list[_Item]) -> list[Any]:
        """On a worker thread: one call for the batch's segments; if it fails, each request
        alone, so one request's failure is not the others'."""
        try:
            return list(self.synth.synthesize_prepared([item.prepared for item in batch], max_batch=self.max_batch))
        except Exception:
            if len(batch) == 1:
                raise
        results: list[Any] = []
        for item in batch:
            try:
                results += self.synth.synthesize_prepared([item.prepared], max_batch=self.max_batch)
            except Exception as exc:  # noqa: BLE001
                results.append(exc)
        return results


class _Lane:
    """One queue of requests, batched and run on one worker thread."""

    def __init__(self, owner: Batcher, name: str) -> None:
        self.owner = owner
        self.name = name
        self._pending: deque[_Item] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ttsengine-synth-{self.name}")
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"ttsengine-batcher-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for item in self._pending:
            if not item.future.done():
                item.future.set_exception(RuntimeError("server shutting down"))
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def add(self, item: _Item) -> None:
        assert self._wake is not None
        self._pending.append(item)
        self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            deadline = loop.time() + self.owner.max_wait
            while len(self._pending) < self.owner.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch: list[_Item] = []
            rest: deque[_Item] = deque()
            for item in self._pending:
                if len(batch) < self.owner.max_batch and not item.future.done():
                    batch.append(item)
                elif not item.future.done():
                    rest.append(item)
            self._pending = rest
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.owner._synthesize, batch)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting request
            results = [exc] * len(batch)
        self.owner._batch_done(len(batch), time.perf_counter() - started)
        for item, result in zip(batch, results):
            if item.future.done():  # the client went away
                continue
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)
