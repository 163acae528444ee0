"""The agent's own time per turn: the CPU time of its code, wherever it runs.

An agent's turn runs as steps of its coroutine on the event loop, and as jobs it hands to the
loop's default executor (``asyncio.to_thread``: a local model's inference, a synchronous tool).
Between its steps the loop runs other conversations and the harness; the wall time of
``agent.handle`` counts all of that. :func:`timed` counts only the agent's own work:

- the thread CPU time of each step of the turn's coroutine, on the event loop thread;
- the thread CPU time of each job the turn submits to the default executor, measured in the
  worker thread (:func:`metered_executor` installs an executor that does this);
- the thread CPU time of each job the turn runs on an executor of its own through
  :func:`resolvekit._meter.metered` (a :class:`~resolvekit.models.LocalModel`'s turns);
- the thread CPU time of each step of the tasks the agent spawns (a playbook runs in a task
  of its own, and may stay parked there from one turn to the next): each step counts for the
  turn of that conversation running at the time (:func:`metered_executor` installs the task
  factory that does this), and so do the jobs such a task hands to worker threads.

The turns of one conversation share what :func:`timed` keeps in the calling task's context, so
a task drives one conversation at a time (the runner gives each conversation its own task).

Not counted: threads the agent's libraries start themselves (e.g. a BLAS or torch thread
pool, the batching embedder's thread), other jobs given to an executor other than the loop's
default, and the steps of a spawned task while none of its conversation's turns runs.
CPU time does not grow when the machine is busy or the harness runs between steps, which is
what makes it a fair budget for a conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

from .._meter import JOB_METER

__all__ = ["HangGuard", "TurnClock", "metered_executor", "timed"]

_T = TypeVar("_T")


class TurnClock:
    """CPU seconds of one agent turn, added from the event loop and from worker threads."""

    __slots__ = ("_jobs", "_steps")

    def __init__(self) -> None:
        self._steps = 0.0  # only ever added to from the event loop thread
        self._jobs: list[float] = []  # appended to from worker threads (atomic)

    @property
    def cpu(self) -> float:
        """The CPU seconds counted so far."""
        return self._steps + sum(self._jobs)

    def add_step(self, seconds: float) -> None:
        self._steps += seconds

    def add_job(self, seconds: float) -> None:
        self._jobs.append(seconds)


class _Conversation:
    """The clock of the turn one conversation is playing now (None between its turns): read
    by the tasks the agent spawned and by worker jobs when they report their time."""

    __slots__ = ("clock",)

    def __init__(self) -> None:
        self.clock: TurnClock | None = None

    def add_step(self, seconds: float) -> None:
        clock = self.clock
        if clock is not None:
            clock.add_step(seconds)

    def add_job(self, seconds: float) -> None:
        clock = self.clock
        if clock is not None:
            clock.add_job(seconds)


_CURRENT: ContextVar[_Conversation | None] = ContextVar("resolvekit_eval_turn", default=None)


class _Stepped:
    """Drives a coroutine, adding the thread CPU time of each of its steps to a clock."""

    __slots__ = ("clock", "coro")

    def __init__(self, coro: Coroutine[Any, Any, Any], clock: TurnClock | _Conversation) -> None:
        self.coro = coro
        self.clock = clock

    def __await__(self) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            start = time.thread_time()
            try:
                signal = self.coro.send(value) if error is None else self.coro.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                self.clock.add_step(time.thread_time() - start)
            try:
                value, error = (yield signal), None
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:  # cancellation and the like: passed to the coroutine
                value, error = None, exc


async def timed(coro: Coroutine[Any, Any, _T], clock: TurnClock) -> _T:
    """Await ``coro``, adding its own CPU time to ``clock`` (see the module docstring)."""
    conversation = _CURRENT.get()
    if conversation is None:  # kept in the calling task's context for its later turns
        conversation = _Conversation()
        _CURRENT.set(conversation)
    previous, conversation.clock = conversation.clock, clock
    meter = JOB_METER.set(conversation.add_job)
    try:
        result: _T = await _Stepped(coro, clock)
        return result
    finally:
        JOB_METER.reset(meter)
        conversation.clock = previous


async def _spawned(coro: Coroutine[Any, Any, _T], conversation: _Conversation) -> _T:
    result: _T = await _Stepped(coro, conversation)
    return result


def _task_factory(previous: Any) -> Callable[..., asyncio.Future[Any]]:
    """A task factory: a task created during a timed turn has its steps counted for its
    conversation's turns; other tasks are created as before (``previous`` or a plain task)."""

    def create(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        context = kwargs.get("context")
        conversation = context.get(_CURRENT) if context is not None else _CURRENT.get()
        if conversation is not None and conversation.clock is not None:
            coro = _spawned(coro, conversation)
        if previous is not None:
            return previous(loop, coro, **kwargs)  # type: ignore[no-any-return]
        return asyncio.Task(coro, loop=loop, **kwargs)

    create._resolvekit_turns = True  # type: ignore[attr-defined]
    return create


def _timed_job(clock: TurnClock, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    start = time.thread_time()
    try:
        return fn(*args, **kwargs)
    finally:
        clock.add_job(time.thread_time() - start)


class _MeteredExecutor(ThreadPoolExecutor):
    """A default executor that times, in the worker thread, each job submitted during a
    :func:`timed` turn. It runs jobs on ``inner`` (the loop's previous default executor) when
    there was one, else on its own threads."""

    def __init__(self, inner: Executor | None) -> None:
        super().__init__(thread_name_prefix="resolvekit-eval")
        self.inner = inner

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        conversation = _CURRENT.get()  # submit runs in the submitting task's context
        clock = conversation.clock if conversation is not None else None
        if clock is not None:
            args = (clock, fn, *args)
            fn = _timed_job
        if self.inner is not None:
            return self.inner.submit(fn, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.inner is not None:
            self.inner.shutdown(wait, cancel_futures=cancel_futures)
        super().shutdown(wait, cancel_futures=cancel_futures)


class HangGuard:
    """Cancels the current task when one of its steps runs longer than ``limit`` wall-clock
    seconds: the guard against real hangs.

    A step is what lies between :meth:`begin` and :meth:`end`; starting one only sets a
    deadline, and one timer serves the whole task (re-armed when it fires early), so guarding
    costs next to nothing per step. After a cancellation, :attr:`fired` names the step.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.fired: str | None = None
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("HangGuard needs a running task")
        self._task = task
        self._cancelling = task.cancelling()
        self._step: str | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, step: str) -> None:
        self._step = step
        self._deadline = self._loop.time() + self.limit
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._check)

    def end(self) -> None:
        self._step = None

    def owns(self, exc: BaseException) -> bool:
        """True when ``exc`` is this guard's cancellation (and no other is pending): the task
        is uncancelled and goes on."""
        if self.fired is None or not isinstance(exc, asyncio.CancelledError):
            return False
        return self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._step is None:
            return  # between steps: the next step arms the timer again
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check)
            return
        self.fired = self._step
        self._task.cancel()


@contextlib.contextmanager
def metered_executor() -> Iterator[None]:
    """Make the running loop time the work of :func:`timed` turns done outside their own
    coroutine: the jobs of its default executor, and the steps of the tasks a turn spawns.

    The loop's previous default executor (if any) keeps running the jobs, and is the default
    again on exit. Without one, the metering executor stays the default after exit (the loop
    shuts it down when it closes, as it would its own). The loop's previous task factory (if
    any) creates the tasks, and is the task factory again on exit.
    """
    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    counting = getattr(factory, "_resolvekit_turns", False)
    if not counting:
        loop.set_task_factory(_task_factory(factory))
    try:
        with _metered_default_executor(loop):
            yield
    finally:
        if not counting:
            loop.set_task_factory(factory)


@contextlib.contextmanager
def _metered_default_executor(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    # asyncio keeps the default executor in a private attribute; without it (another loop
    # implementation) the metering executor runs the jobs itself.
    previous = getattr(loop, "_default_executor", None)
    if isinstance(previous, _MeteredExecutor) or not hasattr(loop, "set_default_executor"):
        yield
        return
    inner = previous if isinstance(previous, Executor) else None
    loop.set_default_executor(_MeteredExecutor(inner))
    try:
        yield
    finally:
        if isinstance(previous, ThreadPoolExecutor):
            loop.set_default_executor(previous)
