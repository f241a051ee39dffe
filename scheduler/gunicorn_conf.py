"""gunicorn's settings for the Procfile's web process: `gunicorn -c python:scheduler.gunicorn_conf`.

Prometheus multiprocess mode: every gunicorn worker (and the `ipt-scheduler worker` process,
when it shares the variable) writes its metric values under PROMETHEUS_MULTIPROC_DIR, and
/metrics adds them up. The variable must be set before prometheus_client is first imported,
which happens in the workers after this file is read, so it is set here when the environment
does not name a directory. Command-line flags (the Procfile's --bind and --workers) still win.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

_DIR = "PROMETHEUS_MULTIPROC_DIR"
if not os.environ.get(_DIR):
    os.environ[_DIR] = tempfile.mkdtemp(prefix="ipt-metrics-")

# Imported now, with the directory set, not in `child_exit`: that hook runs in the master's
# SIGCHLD handler, which can interrupt itself (two workers exiting at once) mid-import.
from prometheus_client import multiprocess  # noqa: E402

# Access-log lines (when --access-logfile is given) without feed tokens, search terms or
# credentials: see scheduler/web/access_log.py.
logger_class = "scheduler.web.access_log.GunicornLogger"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server: Any) -> None:
    """Drop the files of processes that are gone (an earlier run's), keep live ones'.

    A directory shared with a running `ipt-scheduler worker` keeps that worker's files.
    """
    folder = Path(os.environ[_DIR])
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges stop counting (its counters keep adding up)."""
    multiprocess.mark_process_dead(worker.pid)
