"""The course's Jupyter server: the worked solutions open read-only.

``jupyter-config/jupyter_server_config.json`` (installed into the environment
by ``pip install -e .``) makes every Jupyter server of the course's environment
use :class:`CourseContentsManager`, jupyter_server's own file manager with one
rule added: files under the folders named in ``read_only_dirs`` (default:
``notebooks``, the worked solutions, relative to the server's root) are
reported as not writable, and every request that would change them (save and
autosave, delete, rename, upload, copy -- of a file or of a whole folder --,
checkpoints) is refused with HTTP 403 and a
message that says what to do instead. JupyterLab then does what it does for any
read-only file: a "read-only" mark in the notebook's toolbar and a lock in the
file browser, no autosave, Ctrl+S explains itself, and closing a notebook that
was run offers "Discard" or "Save as" instead of overwriting it. So a worked
solution can be run and explored, and reads the same afterwards (``git status``
stays clean).

To edit a solution notebook in JupyterLab on purpose (course maintainers)::

    make lab LAB_ARGS="--CourseContentsManager.read_only_dirs=[]"

This module is imported by the server only; the rest of the package never
imports jupyter_server.
"""

from __future__ import annotations

import os

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError
from traitlets import List, TraitError, Unicode, validate

__all__ = ["CourseContentsManager"]


class CourseContentsManager(AsyncLargeFileManager):
    """jupyter_server's default contents manager, with the solutions read-only."""

    read_only_dirs = List(
        Unicode(), default_value=["notebooks"], config=True,
        help="Folders (relative to the server's root_dir) whose files may be read"
             " and run but never written: saved, deleted, renamed or replaced.")

    @validate("read_only_dirs")
    def _one_folder_each(self, proposal):
        for folder in proposal["value"]:
            if not folder.strip("/ "):
                raise TraitError(
                    f"read_only_dirs entry {folder!r} names the server's whole root:"
                    " the student's own notebooks would be read-only too; name a"
                    " folder under it, e.g. 'notebooks'")
        return proposal["value"]

    def _read_only_roots(self):
        root = os.path.realpath(self.root_dir)
        return [os.path.realpath(os.path.join(root, d)) for d in self.read_only_dirs]

    def is_read_only(self, path: str) -> bool:
        """Whether API path ``path`` is in a read-only folder (symlinks resolved)."""
        if not isinstance(path, str):
            raise TypeError(f"path must be an API path (a str), got {path!r}")
        real = os.path.realpath(self._get_os_path(path.strip("/")))
        return any(real == r or real.startswith(r + os.sep)
                   for r in self._read_only_roots())

    def _refuse(self, path: str, action: str):
        if self.is_read_only(path):
            raise HTTPError(
                403, f"{path.strip('/')} is a worked solution and read-only: cannot"
                     f" {action} it. To keep your changes, use File > Save Notebook"
                     " As… and choose another folder (e.g. student/).")

    def _mark(self, model):
        if model.get("path") is not None and self.is_read_only(model["path"]):
            model["writable"] = False
        if model.get("type") == "directory" and isinstance(model.get("content"), list):
            for item in model["content"]:
                self._mark(item)
        return model

    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        model = await super().get(path, content=content, type=type, format=format,
                                  require_hash=require_hash)
        return self._mark(model)

    async def save(self, model, path=""):
        self._refuse(path, "save")
        return self._mark(await super().save(model, path))

    async def delete_file(self, path):
        self._refuse(path, "delete")
        return await super().delete_file(path)

    async def rename_file(self, old_path, new_path):
        self._refuse(old_path, "rename")
        self._refuse(new_path, "replace")
        return await super().rename_file(old_path, new_path)

    async def copy(self, from_path, to_path=None):
        # jupyter_server copies a file through save() (refused above) but a
        # whole folder with shutil.copytree, which no other method sees: check
        # where the folder copy would land (``to_path``, else beside the
        # original) before anything is written
        source = from_path.strip("/")
        if await self.dir_exists(source):
            into = to_path if to_path is not None else source.rpartition("/")[0]
            self._refuse(into, "copy a folder into")
        return await super().copy(from_path, to_path)

    async def list_checkpoints(self, path):
        # jupyter_server creates the .ipynb_checkpoints folder to list it: a
        # read-only folder has none and gets none
        if self.is_read_only(path):
            return []
        return await super().list_checkpoints(path)

    async def create_checkpoint(self, path):
        self._refuse(path, "checkpoint")
        return await super().create_checkpoint(path)

    async def restore_checkpoint(self, checkpoint_id, path):
        self._refuse(path, "restore a checkpoint of")
        return await super().restore_checkpoint(checkpoint_id, path)
