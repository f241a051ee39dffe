"""Bounded HTTP load for bench/load.py: `wrk` when it is installed, a Python client otherwise.

Both keep `connections` keep-alive connections busy for `duration` seconds against one URL and
report requests/s, p50 and p95 latency (ms) and how many answers were not 2xx/3xx (a run with
errors is refused by the caller: the rate of 401s says nothing).
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# wrk's own summary has p50/p90/p99 only; its Lua `done` hook can read any percentile.
_WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("IPT_BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p95_ms: float
    errors: int
    requests: int


def find_wrk(install: bool) -> str | None:
    """The wrk binary; with `install`, try Debian's package once when it is missing."""
    found = shutil.which("wrk")
    if found or not install or shutil.which("apt-get") is None:
        return found
    print("  wrk not found: apt-get install -y wrk (Debian package)", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return shutil.which("wrk")


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], duration: float, connections: int, threads: int
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_REPORT)
    try:
        cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
        cmd += ["--timeout", "10s", "-s", script.name]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    finally:
        Path(script.name).unlink()
    line = next((ln for ln in out.splitlines() if ln.startswith("IPT_BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{out}")
    requests, micros, p50, p95, errors = (int(x) for x in line.split()[1:])
    return Result(requests / (micros / 1e6), p50 / 1000, p95 / 1000, errors, requests)


def run_python(url: str, headers: dict[str, str], duration: float, connections: int) -> Result:
    """One thread per connection; slower than wrk (the GIL), so compare ratios, not rates."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + duration

    def drive(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            while (start := time.perf_counter()) < deadline:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies[i].append(time.perf_counter() - start)
                if response.status >= 400:
                    errors[i] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(connections)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for lat in latencies for x in lat)
    if not flat:
        raise RuntimeError(f"no request to {url} finished")
    cuts = statistics.quantiles(flat, n=20)  # 5% steps: [9] is p50, [18] is p95
    return Result(len(flat) / elapsed, cuts[9] * 1000, cuts[18] * 1000, sum(errors), len(flat))
