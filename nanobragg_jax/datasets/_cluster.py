"""Making frames on a Dask cluster: each task is a few whole frames that a worker renders and
writes itself (`make_frames`), returning their manifest entries to the client.

`--workers K` starts a local cluster of K worker processes on 127.0.0.1; `--scheduler ADDRESS`
uses a running one (for example one started by dask-jobqueue on SLURM or PBS, see
docs/user-guide.md).  Workers must see the client's files under the same paths.  A task whose
worker dies is run again on another worker by the scheduler (its frames are written atomically,
so a half-made frame never appears); the frames come out identical to the one-process run because
every worker makes a frame with the same code from the same flags.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from typing import Callable, List, Optional

from nanobragg_jax.datasets._engine import SeriesJob, make_frames
from nanobragg_jax.datasets._plan import FrameTask
from nanobragg_jax.errors import InputError


def frames_per_task(count: int, workers: int) -> int:
    """Frames per Dask task: about four tasks per worker, 1 to 8 frames each (a dead worker
    costs at most one task; a task of several frames keeps the device busy between them)."""
    return max(1, min(8, math.ceil(count / max(1, 4 * workers))))


@contextlib.contextmanager
def dask_client(workers: Optional[int] = None, scheduler: Optional[str] = None):
    """A distributed.Client on a new local cluster of `workers` processes (127.0.0.1, one thread
    each, no dashboard) or on the scheduler at `scheduler`; closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("--workers and --scheduler need dask's distributed package "
                         "(pip install 'dask[distributed]')") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_on_cluster(client, job: SeriesJob, tasks: List[FrameTask], on_done: Callable[[dict], None],
                   per_task: Optional[int] = None) -> str:
    """Make `tasks` on the cluster of `client`, calling on_done(entry) for each finished frame.

    Returns "on K Dask workers" (the workers the scheduler had at the start).
    Raises the first task's error (for example a full disk) after cancelling the other tasks."""
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    where = f"on {workers} Dask worker{'s' * (workers > 1)}"
    if not tasks:
        return where
    size = per_task or frames_per_task(len(tasks), workers)
    run = uuid.uuid4().hex[:8]
    futures = [client.submit(make_frames, job, tasks[k:k + size], pure=False,
                             key=f"nanobragg-frames-{tasks[k].index}-{run}")
               for k in range(0, len(tasks), size)]
    try:
        for future in as_completed(futures):
            for entry in future.result():
                on_done(entry)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return where
