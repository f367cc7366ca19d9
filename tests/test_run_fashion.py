"""scripts/run_fashion.py: CI's full-size Fashion-MNIST run of notebook 06.

Small notebooks stand in for 06 (which takes minutes at full size): one that
uses the switch, one that ignores it, one that fails."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

from coursenet import mnist

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not (mnist.DEBIAN_FASHION_DIR / "t10k-labels-idx1-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed")


def run(tmp_path, monkeypatch, *sources):
    spec = importlib.util.spec_from_file_location(
        "run_fashion", ROOT / "scripts" / "run_fashion.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    for name in ("COURSENET_DATASET", "COURSENET_OFFLINE", "COURSENET_DATA"):
        monkeypatch.setenv(name, "")  # restored after the test; the script sets them
    monkeypatch.delenv(mnist.FASHION_DIR_ENV, raising=False)
    return module.main([str(path), "--timeout", "120"])


LOAD = ("from coursenet import data\n"
        "ds = data.load_dataset(flatten=False)\n"
        "(xtrain, ytrain), _ = ds.train, ds.val\n"
        "(_, _), (xtest, ytest), *_ = data.load_dataset(final=True)\n"
        "print(ds.title, ds.classes[0])")


def test_a_notebook_that_uses_the_switch_passes(tmp_path, monkeypatch, capsys):
    assert run(tmp_path, monkeypatch, LOAD,
               "test_acc = float((ytest == 3).mean())",
               "from coursenet.display import verdict\n"
               "verdict('ten classes', len(ds.classes) == 10)") == 0
    out = capsys.readouterr().out
    assert "test accuracy 10.00% on 10,000 Fashion-MNIST test images" in out
    assert "verdicts: 1 true, 0 false" in out


def test_a_notebook_that_ignores_the_switch_fails(tmp_path, monkeypatch, capsys):
    code = ("from coursenet import data\n"
            "(xtrain, ytrain), _, _ = data.load_mnist(source='sample')\n"
            "test_acc = 0.5")
    assert run(tmp_path, monkeypatch, code) == 1
    assert "trained on 4500 images, not the full 55,000" in capsys.readouterr().err


def test_a_false_verdict_fails_the_run(tmp_path, monkeypatch, capsys):
    assert run(tmp_path, monkeypatch, LOAD, "test_acc = 0.5\n"
               "from coursenet.display import verdict\n"
               "verdict('test accuracy above 80%', test_acc > 0.8)") == 1
    captured = capsys.readouterr()
    assert "verdicts: 0 true, 1 false" in captured.out
    assert "does not hold on Fashion-MNIST: test accuracy above 80%: False" in \
        captured.err


def test_errors_and_stderr_fail_the_run(tmp_path, monkeypatch, capsys):
    assert run(tmp_path, monkeypatch, LOAD, "import sys; sys.stderr.write('oops')",
               "test_acc = 0.9") == 1
    assert "wrote to stderr: oops" in capsys.readouterr().err
    assert run(tmp_path, monkeypatch, LOAD, "1 / 0") == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "did not run to its end" in err
