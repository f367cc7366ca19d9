"""lab.py: the course's contents manager refuses what it cannot honour (the
server itself: test_lab_server.py)."""

import pytest


@pytest.mark.parametrize("path", [None, 3])
def test_lab_is_read_only_names_a_path_that_is_not_a_string(tmp_path, path):
    from coursenet.lab import CourseContentsManager

    manager = CourseContentsManager(root_dir=str(tmp_path))
    with pytest.raises(TypeError, match=rf"^path must be an API path \(a str\), got"
                       rf" {path!r}$"):
        manager.is_read_only(path)


@pytest.mark.parametrize("folder", ["/", "", " "])
def test_lab_refuses_the_whole_root_as_a_read_only_folder(tmp_path, folder):
    """It used to drop such an entry silently: nothing was read-only."""
    from traitlets import TraitError

    from coursenet.lab import CourseContentsManager

    with pytest.raises(TraitError, match=rf"read_only_dirs entry {folder!r} names"
                       " the server's whole root"):
        CourseContentsManager(root_dir=str(tmp_path), read_only_dirs=[folder])
