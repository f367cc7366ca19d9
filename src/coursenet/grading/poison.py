"""The package as the sandbox sees it: the reference code for the exercise gone.

An answer must compute its result, not call the package's own reference
(``coursenet.losses``, ``layers``, ``mlp``, ``scalar``, ``train``, the
checks' internals in ``coursenet.exercises``). Blocking names is not enough
(importlib, ``__import__`` with built strings, or reading the ``.py`` file get
around any name filter), so the sandbox never holds that code: the judge binds
a copy of the package over the real one in which every function and class
body that the exercise does not need is replaced by ``raise
ReferenceBlocked(...)``. Reading the copy's source shows the stubs.

What the exercise needs is read from the instructor's notebooks, never from
today's names: the package functions the worked solution's answer cells (and
the release's helper functions) use, the workbook helpers the exercises
package exports (``__all__`` minus the ``check_*``), whatever module-level
code runs at import (outside ``exercises``), and everything those call, found
by walking the package's ASTs (:func:`needed`). So notebook 05's answer may
call ``layers.sigmoid`` (its given forward does) and notebook 06's may call
``mlp.evaluate`` (the worked solution does), while ``mlp.loss_and_grads``,
``losses.*`` and ``train.sgd`` raise in both.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

BLOCKED_MODULE = "coursenet.grading.blocked"


def _modules(package_dir: Path, package: str):
    """{dotted module name: (path, ast)} for every .py file of the package."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).with_suffix("")
        parts = [package, *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and parts[1] == "grading":
            continue  # the grader's own code: kept whole, never reference
        out[".".join(parts)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return out


def _absolute(node, module, is_package):
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def aliases(tree, module, modules, is_package=False, package=None):
    """{local name: module name or (module, name)} bound by the tree's imports
    of ``package`` (default: ``module``'s own package)."""
    out = {}
    package = package or module.split(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == package:
                    out[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            if source.split(".")[0] != package:
                continue
            for a in node.names:
                full = f"{source}.{a.name}"
                out[a.asname or a.name] = full if full in modules else (source, a.name)
    return out


def references(nodes, names, local_module=None, local_defs=()):
    """(module, name) pairs the nodes use, through ``names`` (their aliases)."""
    refs = set()
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = names.get(node.value.id)
                if isinstance(target, str):
                    refs.add((target, node.attr))
            if isinstance(node, ast.Name):
                if node.id in local_defs:
                    refs.add((local_module, node.id))
                target = names.get(node.id)
                if isinstance(target, tuple):
                    refs.add(target)
    return refs


def _defs(tree):
    return {n.name: n for n in tree.body if isinstance(
        n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def needed(package_dir, package, roots):
    """Every (module, name) the roots reach, and the parsed modules."""
    modules = _modules(Path(package_dir), package)
    info = {}
    for name, (path, tree) in modules.items():
        names = aliases(tree, name, modules, path.name == "__init__.py")
        info[name] = (tree, names, _defs(tree))
    work = set(roots)
    for name, (tree, names, defs) in info.items():
        if ".exercises" in name:
            if name.endswith(".exercises"):
                exported = _all(tree)
                work |= {(name, n) for n in exported if not n.startswith("check_")}
            continue
        top = [n for n in tree.body if not isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                ast.ImportFrom))]
        decorators = [d for n in defs.values() for d in n.decorator_list]
        bases = [b for n in defs.values() if isinstance(n, ast.ClassDef)
                 for b in n.bases]
        work |= references(top + decorators + bases, names, name, defs)
    seen = set()
    while work:
        item = work.pop()
        if item in seen or item[0] not in info:
            continue
        seen.add(item)
        module, attr = item
        tree, names, defs = info[module]
        if attr in defs:
            work |= references([defs[attr]], names, module, defs)
        elif attr in names:  # re-exported: follow the import
            target = names[attr]
            work.add(target if isinstance(target, tuple) else (target, "*"))
    return seen, info, modules


def _all(tree):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:
                return []
    return []


def _stub_body(qualified, lineno):
    raise_node = ast.parse(
        f"raise __import__({BLOCKED_MODULE!r}, fromlist=['ReferenceBlocked'])"
        f".ReferenceBlocked({qualified!r})").body[0]
    return [ast.copy_location(raise_node, ast.Pass(lineno=lineno, col_offset=0))]


def _blank_tables(tree, module, names, defs):
    """In the checks' modules, module-level values built from the package's code
    (the mistake tables, their answers) become None: reference internals too."""
    body = []
    for node in tree.body:
        plain = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                  ast.ClassDef, ast.Import, ast.ImportFrom))
        if plain or not references([node], names, module, defs):
            body.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        body.append(ast.parse(f"{name.id} = None").body[0])
    tree.body = body


def poisoned_source(tree, module, keep, names=None, defs=None):
    """The module's source with every def/class not in ``keep`` stubbed."""
    tree = ast.parse(ast.unparse(tree))  # a copy we may change
    if ".exercises" in module:
        _blank_tables(tree, module, names or {}, defs or {})
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and (module, node.name) not in keep:
            node.body = _stub_body(f"{module}.{node.name}", node.lineno)
        elif isinstance(node, ast.ClassDef) and (module, node.name) not in keep:
            init = ast.parse("def __init__(self, *args, **kwargs): pass").body[0]
            init.body = _stub_body(f"{module}.{node.name}", node.lineno)
            node.body, node.bases, node.keywords = [init], [], []
            node.decorator_list = []
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def build(package_dir, package, roots, out_dir):
    """Write the poisoned copy of ``package_dir`` to ``out_dir``; the kept names."""
    package_dir, out_dir = Path(package_dir), Path(out_dir)
    keep, info, modules = needed(package_dir, package, roots)
    shutil.copytree(package_dir, out_dir, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "_data"), dirs_exist_ok=True)
    for name, (path, _) in modules.items():
        target = out_dir / path.relative_to(package_dir)
        tree, names, defs = info[name]
        target.write_text(poisoned_source(tree, name, keep, names, defs),
                          encoding="utf-8")
    for data in package_dir.rglob("_data"):  # mount points for the data files
        (out_dir / data.relative_to(package_dir)).mkdir(parents=True, exist_ok=True)
    for path in [out_dir, *out_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return keep


def roots_from_cells(given_cells, answer_cells, package, modules):
    """The package names the instructor's answer cells and given helpers use."""
    names, nodes = {}, []
    for source in list(given_cells) + list(answer_cells):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names.update(aliases(tree, "__main__", modules, package=package))
    for source in given_cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        nodes += [n for n in tree.body if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for source in answer_cells:
        try:
            nodes.append(ast.parse(source))
        except SyntaxError:
            continue
    return references(nodes, names)
