"""Inside the sandbox: execute a notebook for the feedback, with nbclient.

Receives ``{"notebook": <nbformat JSON>, "timeout": s, "kernel": name}`` on
the channel (:func:`.channel.channel_fds`) and answers ``{"op": "done",
"outputs": [[outputs, execution_count], ...]}``, one pair per cell. The
kernel talks to nbclient over loopback, which the sandbox's own network
namespace has (and nothing else). These outputs are
only what the student sees in the feedback; the points come from :mod:`.judge`.
"""

from __future__ import annotations

import json
import os

from coursenet.grading.channel import Channel, channel_fds
from coursenet.grading.worker import use_font_cache


def main():
    channel = Channel(*channel_fds(), lambda message: {"op": "raise"})
    job = channel.receive()
    use_font_cache()  # the kernel inherits MPLCONFIGDIR
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(json.dumps(job["notebook"]), as_version=4)
    os.chdir(job.get("cwd") or os.getcwd())
    client = NotebookClient(nb, timeout=job.get("timeout"), allow_errors=True,
                            kernel_name=job.get("kernel") or "python3",
                            extra_arguments=["--HistoryManager.hist_file=:memory:"],
                            resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute()
        problem = None
    except Exception as exc:  # noqa: BLE001 - a dead kernel: report what ran
        problem = f"{type(exc).__name__}: {str(exc)[:300]}"
    outputs = [[c.get("outputs", []), c.get("execution_count")] if c.cell_type == "code"
               else [[], None] for c in nb.cells]
    channel.send({"op": "done", "outputs": outputs, "problem": problem})


if __name__ == "__main__":
    main()
