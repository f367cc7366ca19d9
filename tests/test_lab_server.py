"""The course's contents manager: the worked solutions can be read, never written."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

pytest.importorskip("jupyter_server")

from tornado.web import HTTPError  # noqa: E402

from coursenet.lab import CourseContentsManager  # noqa: E402


@pytest.fixture
def course(tmp_path):
    for folder in ("notebooks", "student"):
        (tmp_path / folder).mkdir()
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / folder / "02_x.ipynb")
    return tmp_path


def run(coro):
    """Run ``coro`` to completion on this module's own event loop, in one worker
    thread: another test in the same session may leave an event loop running in
    the main thread, where asyncio refuses to start a second one, and the
    contents manager's notary (sqlite) must stay in the thread that created it."""
    return _WORKER.submit(_LOOP.run_until_complete, coro).result()


_WORKER = ThreadPoolExecutor(max_workers=1)
_LOOP = asyncio.new_event_loop()


def notebook_model(manager, path):
    return run(manager.get(path))


def refused(coro, path):
    with pytest.raises(HTTPError) as err:
        run(coro)
    assert err.value.status_code == 403
    assert path.strip("/") in err.value.log_message
    assert "Save Notebook As" in err.value.log_message


def test_solutions_are_read_only_and_the_workbook_is_not(course):
    manager = CourseContentsManager(root_dir=str(course))
    original = (course / "notebooks/02_x.ipynb").read_bytes()
    assert run(manager.get("notebooks/02_x.ipynb"))["writable"] is False
    assert run(manager.get("student/02_x.ipynb"))["writable"] is True
    listing = run(manager.get("notebooks"))
    assert listing["writable"] is False
    assert {i["writable"] for i in listing["content"]} == {False}
    top = {i["name"]: i["writable"] for i in run(manager.get(""))["content"]}
    assert top == {"notebooks": False, "student": True}

    model = notebook_model(manager, "notebooks/02_x.ipynb")
    refused(manager.save(model, "notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.save(model, "/notebooks/new.ipynb"), "notebooks/new.ipynb")
    refused(manager.delete("notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.rename("notebooks/02_x.ipynb", "student/y.ipynb"),
            "notebooks/02_x.ipynb")
    refused(manager.rename("student/02_x.ipynb", "notebooks/02_x.ipynb"),
            "notebooks/02_x.ipynb")
    refused(manager.rename("notebooks", "solutions"), "notebooks")
    refused(manager.create_checkpoint("notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.new_untitled("notebooks", type="notebook"), "notebooks/")
    assert run(manager.list_checkpoints("notebooks/02_x.ipynb")) == []
    assert (course / "notebooks/02_x.ipynb").read_bytes() == original
    # nothing was written there, not even an empty .ipynb_checkpoints folder
    assert sorted(p.name for p in (course / "notebooks").iterdir()) == ["02_x.ipynb"]

    # the workbook saves as usual, and "Save As" of a solution into it works
    saved = run(manager.save(model, "student/02_copy.ipynb"))
    assert saved["writable"] is True
    assert (course / "student/02_copy.ipynb").exists()


def test_a_detour_does_not_reach_the_solutions(course):
    manager = CourseContentsManager(root_dir=str(course))
    os.symlink(course / "notebooks", course / "student" / "link")
    model = notebook_model(manager, "student/02_x.ipynb")
    assert run(manager.get("student/link/02_x.ipynb"))["writable"] is False
    refused(manager.save(model, "student/link/02_x.ipynb"), "student/link/02_x.ipynb")
    refused(manager.save(model, "student/../notebooks/02_x.ipynb"),
            "student/../notebooks/02_x.ipynb")


def test_the_rule_can_be_configured(course):
    editable = CourseContentsManager(root_dir=str(course), read_only_dirs=[])
    model = notebook_model(editable, "notebooks/02_x.ipynb")
    assert model["writable"] is True
    run(editable.save(model, "notebooks/02_x.ipynb"))
    student_only = CourseContentsManager(root_dir=str(course),
                                         read_only_dirs=["student"])
    assert run(student_only.get("student/02_x.ipynb"))["writable"] is False
    assert run(student_only.get("notebooks/02_x.ipynb"))["writable"] is True
