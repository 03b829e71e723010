"""The settings of the processes triage starts itself: the CLI's and its pool workers'.

Python's cyclic garbage collector looks at its youngest objects every 700 allocations and, every
hundred or so such looks, at all of them. A batch run holds a few hundred thousand long-lived
objects (the walk's items, the signature set, the modules of Arrow and pandas) and allocates
millions of short-lived ones, almost none of them in reference cycles: ingesting 10,000 small
logs at `-j 1` collected 1,066 times, for 1.08 s of its 14 s, seven full collections of about
0.14 s each among them. Looking at the youngest every 50,000 allocations, and at the older
generations twenty times less often than that, took it to 30 collections and 0.17 s; peak
memory did not change (272 MB against 274 MB). A library caller's
process (a notebook) keeps its own settings: only the CLI and the pools it starts call these.
"""

from __future__ import annotations

import gc
import os

#: allocations between collections of the youngest generation, then collections of each
#: generation between collections of the next
GC_THRESHOLDS = (50_000, 20, 20)


def batch_gc() -> None:
    """Collect as a batch process should (`GC_THRESHOLDS`): the CLI's, before its command runs,
    and each pool worker's as it starts (a pool initializer: with a start method other than
    fork a worker inherits none of the CLI's settings)."""
    gc.set_threshold(*GC_THRESHOLDS)


def warm_pool_worker() -> None:
    """A forked pool worker's start (it inherited the rest): `batch_gc`, `die_with_parent`
    and `quiet_interrupt`."""
    batch_gc()
    die_with_parent()
    quiet_interrupt()


def for_pool_worker() -> None:
    """A cold pool worker's start: a forked one's (`warm_pool_worker`), and Arrow settled
    without pandas."""
    from triage.batch.sigset import arrow_without_pandas

    warm_pool_worker()
    arrow_without_pandas()


def quiet_interrupt() -> None:
    """Ctrl-C reaches every process of the terminal's foreground group: a worker leaves it to
    its caller, which stops the run with one line ("triage: interrupted"), not a traceback a
    worker (20 lines each). The worker ends with its caller (`die_with_parent`), or after its
    pack when the caller, a library's, goes on; what it wrote then is never committed. (Ending
    at the signal could cut its result in half on the pipe the caller reads.)"""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Linux's prctl option that has the kernel signal a process when its parent ends
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """End this pool worker when the process that started it ends, however it ends.

    A pool's workers wait for work from their parent; one killed (SIGKILL, the OOM killer, a
    closed terminal) left them waiting forever, orphans holding memory and the inherited
    descriptors. Linux only; elsewhere the pool's own shutdown is all there is."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    import multiprocessing

    # (a fork server's child is signalled when the server ends, which it does with its caller)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        try:
            os.kill(parent.pid, 0)
        except ProcessLookupError:  # the caller ended before the request was made
            os._exit(1)
        except OSError:
            pass
