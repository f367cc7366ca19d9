"""Measure what one student costs a hub: memory and CPU of each solution notebook.

    .venv/bin/python scripts/measure_notebooks.py               # bundled sample
    .venv/bin/python scripts/measure_notebooks.py --full-size   # MNIST-sized data
    .venv/bin/python scripts/measure_notebooks.py --server      # + jupyter server

Each notebook of ``notebooks/`` runs top to bottom in a fresh kernel (nbclient,
as ``make notebooks`` does, on a temporary copy: nothing in the repository is
written). While it runs, the kernel's resident memory (RSS, the kernel process
and any child it starts) is sampled every 20 ms; the table shows its peak, the
CPU-seconds (user + system) the kernel used from its start to the end of the
last cell, and the wall time. ``--server`` also starts ``jupyter lab`` headless
on 127.0.0.1 and reports its RSS once it has served the start page (the other
half of a user's server; it does not grow with the notebooks, their kernels do).

``--full-size`` replaces ``load_mnist`` in each kernel by a loader of the same
signature that reads Debian's Fashion-MNIST (``dataset-fashion-mnist``: the
same IDX format, shapes and dtypes as MNIST: 60,000 + 10,000 images of 28x28
uint8), because full MNIST cannot be downloaded on the machine where the
numbers were taken; memory and CPU depend on the shapes, not on the pictures.
Without it, the notebooks use the bundled 5,000-digit sample (what they do
offline). Nothing here reaches the network: ``COURSENET_OFFLINE=1``.

The numbers are what ``deploy/z2jh/README.md``'s sizing table is built from (the
raw output of the runs it quotes: ``deploy/z2jh/measurements.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # machine.py, shared with bench_train
from machine import cpu_model, load_average  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")

# Run first in every kernel with --full-size: load_mnist, same signature and
# split semantics (final=False: the last 5,000 training images are the
# validation set), on the Fashion-MNIST files. Notebooks import it afterwards.
FULL_SIZE_PRELUDE = """\
import numpy as _np
import coursenet.data as _data
import coursenet.mnist as _mnist

def _full_size_mnist(final=False, flatten=True, **_ignored):
    d = {folder!r}
    x = _mnist.parse_idx(d + '/train-images-idx3-ubyte.gz')
    y = _mnist.parse_idx(d + '/train-labels-idx1-ubyte.gz')
    xt = _mnist.parse_idx(d + '/t10k-images-idx3-ubyte.gz')
    yt = _mnist.parse_idx(d + '/t10k-labels-idx1-ubyte.gz')
    if not final:
        (x, y), (xt, yt) = (x[:55_000], y[:55_000]), (x[55_000:], y[55_000:])
    if flatten:
        x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    return (x, y), (xt, yt), 10

_data.load_mnist = _mnist.load_mnist = _full_size_mnist
"""


class Sampler(threading.Thread):
    """Peak RSS of a process and its children, sampled until stopped."""

    def __init__(self, pid, interval=0.02):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def rss(self):
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def cpu_seconds(self):
        t = self.process.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def run(self):
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.NoSuchProcess:
                return
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, self.rss())


def measure_notebook(path: Path, workdir: Path, prelude: str | None):
    """Peak RSS (bytes), CPU-seconds and wall seconds of one notebook's kernel."""
    nb = nbformat.read(path, as_version=4)
    if prelude:
        nb.cells.insert(0, nbformat.v4.new_code_cell(prelude))
    shutil.copy(path, workdir / path.name)  # from_notebook() reads its neighbours
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        sampler = Sampler(pid)
        sampler.start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        finally:
            cpu = sampler.cpu_seconds()
            sampler.stop()
    wall = time.perf_counter() - start
    errors = [o.get("ename") for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"{path.name} raised {errors}")
    return sampler.peak, cpu, wall


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_server(workdir: Path, env):
    """RSS and CPU-seconds of a headless `jupyter lab` after serving the start page."""
    shutil.copy(ROOT / "START_HERE.md", workdir)
    port = _free_port()
    dirs = {k: workdir / k for k in ("cfg", "data", "run", "settings", "ws")}
    server_env = dict(env, JUPYTER_CONFIG_DIR=str(dirs["cfg"]),
                      JUPYTER_DATA_DIR=str(dirs["data"]),
                      JUPYTER_RUNTIME_DIR=str(dirs["run"]),
                      JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                      JUPYTERLAB_WORKSPACES_DIR=str(dirs["ws"]))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", f"--ServerApp.root_dir={workdir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=server_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        for _ in range(600):
            try:
                opener.open(base + "/api/status", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("jupyter lab did not answer in 60 s")
        for url in ("/lab/tree/START_HERE.md", "/api/contents/START_HERE.md",
                    "/lab/api/settings", "/api/kernelspecs"):
            opener.open(base + url, timeout=30).read()
        time.sleep(1)
        p = psutil.Process(proc.pid)
        t = p.cpu_times()
        return p.memory_info().rss, t.user + t.system
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook in notebooks/")
    parser.add_argument("--full-size", action="store_true",
                        help="MNIST-sized data (Debian's Fashion-MNIST files)")
    parser.add_argument("--server", action="store_true",
                        help="also measure a headless jupyter lab server")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    prelude = None
    if args.full_size:
        if not (FASHION / "train-images-idx3-ubyte.gz").exists():
            parser.error(f"--full-size needs {FASHION} (apt-get install "
                         "dataset-fashion-mnist)")
        prelude = FULL_SIZE_PRELUDE.format(folder=str(FASHION))
    cpu_count = os.cpu_count()
    data = "MNIST-sized data (Fashion-MNIST)" if args.full_size else "bundled sample"
    memory = psutil.virtual_memory().total / 2**30
    print(f"# {cpu_model()}, {cpu_count} CPUs, {memory:.1f} GiB, Python "
          f"{platform.python_version()}, {data}")
    print(f"# load average at start: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, COURSENET_OFFLINE="1", COURSENET_DATA=str(tmp / "data"),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        os.environ.update(env)  # the kernels inherit it
        work = tmp / "notebooks"
        work.mkdir()
        for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
            shutil.copy(p, work)
        print("\n| notebook | peak RSS of the kernel (MB) | CPU-seconds | wall (s) |")
        print("|---|---:|---:|---:|")
        peaks, cpus = [], []
        for path in paths:
            peak, cpu, wall = measure_notebook(path, work, prelude)
            peaks.append(peak)
            cpus.append(cpu)
            print(f"| {path.name} | {peak / 2**20:.0f} | {cpu:.1f} | {wall:.1f} |",
                  flush=True)
        print(f"| **all, one after another** | max {max(peaks) / 2**20:.0f} | "
              f"{sum(cpus):.1f} | |")
        if args.server:
            srv = tmp / "server"
            srv.mkdir()
            rss, cpu = measure_server(srv, env)
            print(f"\njupyter lab server after serving the start page: RSS "
                  f"{rss / 2**20:.0f} MB, {cpu:.1f} CPU-seconds to start")
    print(f"# load average at end: {load_average()}")


if __name__ == "__main__":
    main()
