"""Every row of every mistake table is reachable: some test triggers each id.

The exercise tests run once more in a subprocess with
``exercises._core.RECORD_ENV`` naming a file; every check that names a mistake
appends its id there. An id in a table that no test produced fails here (a
diagnosis nobody has seen fire is a diagnosis nobody knows to be right).
"""

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import coursenet.exercises as exercises_package
from coursenet.exercises import Mistake
from coursenet.exercises._core import RECORD_ENV

HERE = Path(__file__).resolve().parent

# Tables written as tuples rather than Mistake rows: (module, name, id index).
TUPLE_TABLES = [("nb02", "_CACHE_MISTAKES", 1), ("nb02", "_STAGE_MISTAKES", 1),
                ("nb02", "_DL_DY_MISTAKES", 0), ("nb02", "_STAGE_FALLBACK", 2)]


def table_ids():
    """{id: where} for every row of every table in coursenet.exercises."""
    ids = {}
    for info in pkgutil.iter_modules(exercises_package.__path__):
        module = importlib.import_module(f"coursenet.exercises.{info.name}")
        for name, value in vars(module).items():
            where = f"{info.name}.{name}"
            if isinstance(value, list) and value \
                    and all(isinstance(row, Mistake) for row in value):
                ids.update({row.id: where for row in value})
            elif isinstance(value, dict) and name.endswith(("_RULES", "_RULE")):
                ids.update({key: where for key in value if key != "right"})
    for module_name, name, index in TUPLE_TABLES:
        module = importlib.import_module(f"coursenet.exercises.{module_name}")
        rows = getattr(module, name)
        rows = rows.values() if isinstance(rows, dict) else rows
        ids.update({row[index]: f"{module_name}.{name}" for row in rows})
    return ids


# Modules whose own ids (written in the code, not in a table) must be covered
# too: ``_fail(diagnosis, hint, "id")``, ``mistake="id"``, ``stop.mistake = "id"``.
# Every module of the package, a new one included: each id written in its code
# must be triggered by some test.
MACHINERY_MODULES = [m.name for m in pkgutil.iter_modules(exercises_package.__path__)]


def machinery_ids():
    """{id: where} for every mistake id written as a literal in the code."""
    import ast
    ids = {}
    for name in MACHINERY_MODULES:
        path = Path(exercises_package.__file__).parent / f"{name}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found = []
            if isinstance(node, ast.Call):
                func = getattr(node.func, "id", None) \
                    or getattr(node.func, "attr", None)
                if func == "_fail" and len(node.args) >= 3:
                    found.append(node.args[2])
                found += [k.value for k in node.keywords if k.arg == "mistake"]
            elif isinstance(node, ast.Assign) and any(
                    getattr(t, "attr", None) == "mistake" for t in node.targets):
                found.append(node.value)
            ids.update({f.value: f"{name}.py line {f.lineno}" for f in found
                        if isinstance(f, ast.Constant) and isinstance(f.value, str)})
    return ids


def test_the_machinery_ids_are_found():
    ids = machinery_ids()
    for known in ("returned_none", "too_slow", "not_an_array", "overflow",
                  "index_past_end", "wrong_dl_dy", "extra_axis", "changed_input"):
        assert known in ids, known


def test_the_tables_are_found():
    ids = table_ids()
    for known in ("if_target", "every_class", "offdiag_yi_squared", "other_branch",
                  "sigmoid_from_k", "adds_gradient", "ignores_dl_dy", "cache_h_is_k"):
        assert known in ids, known


def test_every_mistake_id_is_triggered_by_some_test(tmp_path):
    record = tmp_path / "ids.txt"
    files = sorted(str(p) for p in HERE.glob("test_exercises*.py")
                   if p.name != Path(__file__).name)
    files.append(str(HERE / "test_workbook_helpers.py"))
    env = dict(os.environ, **{RECORD_ENV: str(record)})
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-o", "addopts=", *files], env=env, capture_output=True, text=True,
        cwd=HERE.parent, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    seen = set()
    for line in record.read_text(encoding="utf-8").splitlines():
        seen.update(line.split("+"))  # a combination names each of its mistakes
    missing = {i: where for i, where in {**machinery_ids(), **table_ids()}.items()
               if i not in seen}
    assert not missing, (f"mistake ids that no test triggers: {missing}; write the"
                         " mistake as a student would, as a test (see the docstring"
                         " of coursenet.exercises._core)")
