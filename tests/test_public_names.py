"""One import path per public name.

A public function or class lives in one public module and is imported from
there; another public module that uses it imports it under a private name (or
through its module), so ``train.evaluate`` or ``mlp.softmax`` do not exist as a
second, undocumented way to reach ``mlp.evaluate`` or ``losses.softmax``.
"""

import importlib
import inspect
import types

import pytest

PUBLIC = ["scalar", "layers", "losses", "mlp", "train", "history", "gradcheck",
          "data", "mnist", "display", "plots", "widgets", "lab", "exercises"]

# second paths a notebook (or another helper's file) still uses; remove the row
# when it stops
STILL_USED = {}


def _home(value):
    if not (inspect.isfunction(value) or inspect.isclass(value)):
        return None
    return getattr(value, "__module__", None)


def _second_paths():
    found = []
    for name in PUBLIC:
        module = importlib.import_module(f"coursenet.{name}")
        for attr, value in vars(module).items():
            if attr.startswith("_") or isinstance(value, types.ModuleType):
                continue
            home = _home(value) or ""
            parts = home.split(".")
            # a public home: coursenet.<public module>, not coursenet._x and not
            # the package's own submodules (exercises.nb01 re-exported by
            # exercises is the one public path)
            if (len(parts) == 2 and parts[0] == "coursenet"
                    and not parts[1].startswith("_") and parts[1] != name):
                found.append((name, attr))
    return found


def test_no_public_module_is_a_second_path_to_another_modules_name():
    extra = [f"{m}.{a}" for m, a in _second_paths() if (m, a) not in STILL_USED]
    assert not extra, ("second import paths (import these under a private name):"
                       f" {extra}")


@pytest.mark.parametrize("module, name", [("train", "evaluate"),
                                          ("train", "DivergedError")])
def test_the_removed_aliases_are_gone(module, name):
    assert not hasattr(importlib.import_module(f"coursenet.{module}"), name)


def test_every_name_in_all_is_defined_where_it_is_listed():
    for name in PUBLIC:
        module = importlib.import_module(f"coursenet.{name}")
        for attr in getattr(module, "__all__", ()):
            home = _home(getattr(module, attr))
            if home is not None:
                top = home.split(".")[:2]
                assert top == ["coursenet", name] or top[1].startswith("_"), (
                    f"{name}.__all__ lists {attr}, defined in {home}")
