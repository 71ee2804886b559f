"""A torchrun launch, round by round: joining this round's process group, the restarts left, and
what ended a run when another process was lost or stalled.

torchrun (``torch.distributed.run``) starts one process per rank with ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT`` (the store of its agent) and, with ``--max-restarts K``,
stops every process of a round that fails and starts a new round, telling each process its
round (``TORCHELASTIC_RESTART_COUNT``). When a process is killed, the others see a closed
connection at their next collective; when one stops without dying (SIGSTOP, a hung disk), they
see nothing until the process group's timeout. Either way torchrun then sends SIGTERM to the
processes still running and SIGKILL 30 s later (a grace fixed in torch 2.13 when a worker fails;
``--shutdown-timeout`` sets it only when torchrun itself is signalled).
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from .. import limits
from ..errors import GradfitError, ProcessGroupError, option


def launched() -> bool:
    """Whether this process was started by a launcher with more than one process (``WORLD_SIZE > 1``)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def env_rank() -> int:
    """This process's rank from the environment (0 when not launched)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def restart_count() -> int:
    """How many times torchrun has restarted this group (``TORCHELASTIC_RESTART_COUNT``; 0 without it)."""
    try:
        return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    except ValueError:
        return 0


def restarts_left() -> int:
    """How many more times torchrun will restart the group if this round fails (``--max-restarts``)."""
    try:
        return max(int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")) - restart_count(), 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Launch:
    """The round of a launch this process joined: the store its process group was built on (a
    namespace of the launcher's store no earlier round used), its rank and its timeout (seconds)."""

    store: object
    rank: int
    world_size: int
    timeout: float


_joined: list[Launch] = []  # the round this process joined (at most one: a process joins one group)
# What this process found after its group failed: its claim to report (claim_report) and the census
# (_census). Asked once: a failure seen by the API and again by the command line (or by a SIGTERM
# that cut the first census short) must not claim twice, which would leave no process reporting.
_claimed: list[bool] = []
_counted: list[tuple[list[int] | None, bool]] = []


def join(backend: str, rank: int, world_size: int, timeout: float) -> None:
    """``torch.distributed.init_process_group`` in a namespace of the launcher's store that is new
    to this round, every wait bounded by ``timeout`` seconds.

    torchrun's agent keeps one store for all its restart rounds (``TORCHELASTIC_USE_AGENT_STORE``),
    and a process group writes the same keys there every round (each process's gloo address): a
    restarted process could read a peer's address of the round before and dial a port no one
    listens on (measured: 2 restarts of 6 failed with "Connection refused"). The round's processes
    first agree on a fresh namespace (:func:`fresh_namespace`), then build the group inside it.
    """
    from datetime import timedelta

    import torch.distributed as dist

    wait = timedelta(seconds=timeout)
    base = next(dist.rendezvous("env://", rank=rank, world_size=world_size, timeout=wait))[0]
    base.set_timeout(wait)
    store = dist.PrefixStore(f"gradfit/{fresh_namespace(base, rank, world_size, timeout)}", base)
    dist.init_process_group(backend=backend, store=store, rank=rank, world_size=world_size, timeout=wait)
    _joined[:] = [Launch(dist.PrefixStore("faults", store), rank, world_size, timeout)]


def all_returned(key: str) -> None:
    """Wait until every process of this round has got here (a count in the round's store, polled
    so that a signal handler can run, for at most the timeout); at once outside a launch, or when
    the store is gone (it is torchrun's agent's, which outlives the processes).

    For the end of a run: a process that returns from gloo's last barrier may still have a peer
    waiting on that barrier's last message, and tearing its connections down then aborts the peer
    ("terminate called without an active exception"; seen in one full test run with the barrier
    alone, 3 processes on a busy machine). Once every process has returned, none is waiting.
    """
    if not _joined:
        return
    launch = _joined[0]
    deadline = time.monotonic() + launch.timeout
    try:
        launch.store.add(key, 1)
        while launch.store.add(key, 0) < launch.world_size and time.monotonic() < deadline:
            time.sleep(0.002)
    except RuntimeError:  # (torch's store errors): nothing left to wait with
        pass


def fresh_namespace(store, rank: int, world_size: int, timeout: float) -> str:
    """A name that every process of this round agrees on and no earlier round used.

    Rank 0 draws it and posts it (``round``). Another process cannot tell that post from an
    earlier round's, so it answers with the name it read and a nonce of its own, and takes the
    name once rank 0 has confirmed that answer: only this round's rank 0 can (torchrun stops every
    process of a round before it starts the next), and it confirms only answers that carry its
    own name, until every process has answered. An answer to a stale name is never confirmed: the
    process reads the post again.
    """
    deadline = time.monotonic() + timeout
    if rank == 0:
        name = uuid.uuid4().hex
        store.set("gradfit/round", name)
        waiting = set(range(1, world_size))
        while waiting:
            for peer in sorted(waiting):
                key = f"gradfit/answer/{peer}"
                answer = store.get(key).decode() if store.check([key]) else ""
                if answer.startswith(name + ":"):
                    store.set(f"gradfit/confirmed/{answer}", "1")
                    waiting.discard(peer)
            _pause(deadline, waiting, world_size, timeout)
        return name
    nonce = uuid.uuid4().hex
    while True:
        # Polled, never a blocking get: a signal handler (torchrun's SIGTERM) runs only between waits.
        if store.check(["gradfit/round"]):
            answer = f"{store.get('gradfit/round').decode()}:{nonce}"
            store.set(f"gradfit/answer/{rank}", answer)
            for _ in range(50):  # a second for rank 0 to confirm, then read the post again
                if store.check([f"gradfit/confirmed/{answer}"]):
                    return answer.split(":", 1)[0]
                time.sleep(0.02)
        _pause(deadline, {0}, world_size, timeout)


def _pause(deadline: float, waiting: set[int], world_size: int, timeout: float) -> None:
    if not waiting:
        return
    if time.monotonic() > deadline:
        ranks = ", ".join(map(str, sorted(waiting)))
        raise ProcessGroupError(f"rank{'s' * (len(waiting) > 1)} {ranks} of {world_size} did not join the process "
                                f"group within {timeout:g} seconds; check that every process of the launch started "
                                f"(torchrun's log), or wait longer with {option('timeout', f'{2 * timeout:g}')}")
    time.sleep(0.02)


@dataclass(frozen=True)
class Fault:
    """What ended a run under torchrun: a lost or stalled peer, as this process saw it.

    Attributes
    ----------
    kind : str
        ``lost`` (a connection closed: the process was killed or crashed), ``stalled`` (no answer
        within the timeout) or ``failed`` (the process group reported another error).
    peers : list of int or None
        The ranks that did not check in after the failure (None: not determinable).
    world_size : int
    timeout : float or None
        The timeout (seconds) the group ran with.
    speaks : bool
        This process reports it: the first to claim the report in the store (rank 0 when the
        store cannot be reached), so one line describes the failure, whichever ranks survive.
    detail : str
        torch's own words (its first line).
    """

    kind: str
    peers: list[int] | None
    world_size: int
    timeout: float | None
    speaks: bool
    detail: str


_LOST = ("connection reset", "connection closed", "closed by peer", "broken pipe", "connection refused",
         "end of file", "socket")
_STALLED = ("timed out", "timeout", "deadline")


def group_fault(error: BaseException) -> Fault | None:
    """The process group's failure behind ``error`` (or behind an exception ``error`` replaced,
    such as the SIGTERM torchrun sends while the failure unwinds), or ``None`` when ``error`` is not
    one. Waits at most ``limits.FAULT_CENSUS_SECONDS`` for the other processes to check in."""
    if not launched():
        return None
    cause = _distributed_error(error)
    if cause is None:
        return None
    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    lower = text.lower()
    kind = "stalled" if any(w in lower for w in _STALLED) else "lost" if any(w in lower for w in _LOST) \
        else "failed"
    if not _joined:  # the launcher's store itself could not be reached
        return Fault(kind, None, _world_size(), None, env_rank() == 0, text)
    launch = _joined[0]
    peers, speaks = _census(launch)
    return Fault(kind, peers, launch.world_size, launch.timeout, speaks, text)


def _distributed_error(error: BaseException | None) -> BaseException | None:
    """The first torch.distributed error in ``error``'s chain (``__cause__``, ``__context__``)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if _is_distributed(error):
            return error
        error = error.__cause__ or error.__context__
    return None


def _is_distributed(error: BaseException) -> bool:
    import sys

    # (never imported here: a SIGTERM that cut torch's import short leaves it half initialised)
    dist_error = getattr(sys.modules.get("torch.distributed"), "DistError", None)
    if dist_error is not None and isinstance(error, dist_error):
        return True
    text = str(error).lower()
    # gloo's and NCCL's failures arrive as plain RuntimeErrors naming their source file or the peer
    return type(error) is RuntimeError and any(word in text for word in ("gloo", "nccl", "by peer", "processgroup"))


def claim_report() -> bool:
    """Whether this process is the first of its round to say how the run ended (the launcher's
    store counts the claims), so that one line tells it whichever processes survive; ``True``
    when no store can tell (not joined, or the store is gone: its host died). The process also
    checks in as alive (the census of :func:`group_fault`)."""
    from datetime import timedelta

    if not _joined:
        return True
    if _claimed:
        return _claimed[0]
    store = _joined[0].store
    try:
        store.set_timeout(timedelta(seconds=limits.FAULT_STORE_SECONDS))
        store.set(f"alive/{_joined[0].rank}", "1")
        claimed = store.add("reporter", 1) == 1
    except Exception:  # (torch raises DistStoreError, DistNetworkError or RuntimeError here)
        claimed = _joined[0].rank == 0
    _claimed[:] = [claimed]
    return claimed


def _census(launch: Launch) -> tuple[list[int] | None, bool]:
    """The ranks that do not check in after a failure, and whether this process reports it
    (:func:`claim_report`). The store is the launcher's: it outlives any worker."""
    if not _counted:
        _counted[:] = [_count(launch)]
    return _counted[0]


def _count(launch: Launch) -> tuple[list[int] | None, bool]:
    store, rank, world = launch.store, launch.rank, launch.world_size
    speaks = claim_report()
    if world == 2:  # the other process, whatever the census would say
        return [1 - rank], speaks
    if not speaks:
        return None, False
    deadline = time.monotonic() + limits.FAULT_CENSUS_SECONDS
    while True:
        try:
            silent = [r for r in range(world) if r != rank and not store.check([f"alive/{r}"])]
        except Exception:
            return None, speaks
        if not silent or time.monotonic() > deadline:
            return (silent or None), speaks
        time.sleep(0.05)


@contextmanager
def peer_faults(checkpoint: str | None = None, resumable: bool = True):
    """Inside the block, a lost or stalled peer ends the run with a :class:`ProcessGroupError`
    (torch's exception as its ``__cause__``) saying which rank and how the run goes on
    (:func:`fault_text`), whichever collective saw it: gradfit's own (``all_gather``), DDP's
    all-reduce in ``backward()``, or the barrier that closes the group. ``checkpoint``: the run's
    (``resumable=False``: a run that has none to resume, as ``solve``). Other errors pass unchanged."""
    try:
        yield
    except GradfitError:
        raise
    except Exception as error:
        fault = group_fault(error)
        if fault is None:
            raise
        raise ProcessGroupError(fault_text(fault, checkpoint, resumable=resumable), fault) from error


def fault_text(fault: Fault, checkpoint: str | None, resume: str | None = None, resumable: bool = True) -> str:
    """What a lost or stalled process did to the run, and how the run goes on (one line).
    ``resume``: how the caller continues from ``checkpoint`` (default: :func:`option` ``resume``)."""
    peers = fault.peers or []
    who = "another process" if not peers else \
        f"rank{'s' * (len(peers) > 1)} {', '.join(map(str, peers))} of {fault.world_size}"
    were = "were" if len(peers) > 1 else "was"
    if fault.kind == "lost":
        what = f"{who} {were} lost (its connection closed: killed or crashed)"
    elif fault.kind == "stalled" and fault.timeout is not None:
        what = (f"{who} did not answer within {fault.timeout:g} seconds (stopped, hung or unreachable; "
                f"{option('timeout', f'{fault.timeout:g}')} sets the wait)")
    else:
        what = f"the process group failed ({fault.detail})"
    return f"{what}; this process stopped too; {_how_it_goes_on(checkpoint, resume, resumable)}"


def _how_it_goes_on(checkpoint: str | None, resume: str | None, resumable: bool) -> str:
    left = restarts_left()
    restarts = f"torchrun restarts the group ({left} restart{'s' * (left > 1)} left)"
    if left and checkpoint:
        return f"{restarts}, which resumes from {checkpoint}"
    if left:
        return f"{restarts}, which starts over" + \
            (f" (nothing saved without {option('checkpoint', 'PATH')})" if resumable else "")
    if not resumable:
        return "run it again"
    if checkpoint and os.path.isfile(checkpoint):
        return f"continue from its last checkpoint with: {resume or option('resume', checkpoint)}"
    if checkpoint:
        return "no checkpoint was written yet: run the same command again"
    return f"nothing saved (add {option('checkpoint', 'PATH')} to be able to resume)"


def _world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1
