# ruff: noqa: E501  (the mutants are exact source lines)
"""Apply the hand-made mutants (issues 17 and 24; the second block: issue 24's classes that had lived) one at a time; each must fail
its test (the tests live beside the other tests of their module).

Run: ``.venv/bin/python benchmarks/hand_mutants.py``. Every mutant is restored
afterwards (also on error). Prints KILLED or SURVIVED per mutant.
"""
import pathlib
import signal
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[1]
M = [
 ("W1 std fan_out", "src/coursenet/mlp.py", "W1 = rng.standard_normal((num_inputs, num_hiddens)) / np.sqrt(num_inputs)", "W1 = rng.standard_normal((num_inputs, num_hiddens)) / np.sqrt(num_hiddens)", "init_std"),
 ("scalar accuracy argmin", "src/coursenet/scalar.py", "correct += o.index(max(o)) == t", "correct += o.index(min(o)) == t", "scalar_accuracy"),
 ("all_finite ignores nested", "src/coursenet/history.py", "            if not all_finite(v):\n                return False", "            if False:\n                return False", "nested"),
 ("blas self-test comparison removed", "src/coursenet/_blas.py", "        if not np.allclose(C, expected, rtol=1e-5, atol=1e-6):\n            return False", "", "self_test"),
 ("blas overlap checks removed", "src/coursenet/_blas.py", "and _blas_layout(B) and not np.may_share_memory(C, A) \\\n            and not np.may_share_memory(C, B):", "and _blas_layout(B):", "overlapping"),
 ("scatter_classes returns early", "src/coursenet/plots.py", "    X, c = X[:max_points], labels[:max_points]\n", "    X, c = X[:max_points], labels[:max_points]\n    return ax\n", "scatter_classes_draws"),
 ("digit_grid without images", "src/coursenet/plots.py", '        ax.imshow(images[i], cmap="gray_r")\n', "", "digit_grid"),
 ("cache: sha256 skipped at the right size", "src/coursenet/mnist.py", "    if len(blob) == size and _sha256(blob) == sha256:\n        return blob", "    if len(blob) == size:\n        return blob", "same_size_corrupted"),
 ("bundled file: checksum not compared", "src/coursenet/mnist.py", "    if len(blob) != size or _sha256(blob) != sha256:", "    if len(blob) != size:", "damaged_bundled"),
 # issue 24's classes that had lived: each names the test files that must kill it
 ("Q7: trained parameters to 1e-2", "src/coursenet/exercises/nb06.py", "rtol=1e-7, atol=1e-10) for k in b)", "rtol=1e-2, atol=1e-2) for k in b)", "", ["tests/test_exercises_q7.py"]),
 ("Q7: step losses to 1e-2", "src/coursenet/exercises/nb06.py", "if not np.allclose(steps, returned, rtol=1e-9, atol=1e-12):", "if not np.allclose(steps, returned, rtol=1e-2, atol=1e-2):", "", ["tests/test_exercises_q7.py"]),
 ("Q5: one softmax_backward call is enough", "src/coursenet/exercises/nb04.py", "        if len(calls) < len(cases):", "        if len(calls) < 1:", "", ["tests/test_exercises_q5_q6.py"]),
 ("non-finite answer check removed", "src/coursenet/exercises/_core.py", "        bad = ~np.isfinite(value)\n", "        bad = np.zeros(np.shape(value), bool)\n", "", ["tests/test_exercises_q5_q6.py", "tests/test_exercises_pairs.py"]),
 ("slider maximum a decade low", "src/coursenet/widgets.py", "max=np.log10(hi), step", "max=np.log10(hi) - 1, step", "", ["tests/test_widgets.py", "tests/test_plots_widgets.py"]),
 ("explorer's rate axis linear", "src/coursenet/widgets.py", 'ax.set_xscale("log")', 'ax.set_xscale("linear")', "", ["tests/test_widgets.py", "tests/test_plots_widgets.py"]),
 ("auto log scale needs two decades", "src/coursenet/plots.py", "def _spans_decades(values, decades=1.0):", "def _spans_decades(values, decades=2.0):", "", ["tests/test_plots.py", "tests/test_plots_widgets.py", "tests/test_plots_rate_curves.py"]),
 # notebook 03's figure defects: a floor on the log axis, ln 2 over the curve on it, a legend on the points
 ("log axis floored at 1e-4 again", "src/coursenet/plots.py", "    low, high = values.min(), values.max()\n", "    low, high = max(values.min(), 1e-4), values.max()\n", "every_positive_loss or losses_below_1e_4", ["tests/test_plots_widgets.py"]),
 ("losses of 0 left out without a word", "src/coursenet/plots.py", "    if left_out:\n", "    if False:\n", "every_positive_loss", ["tests/test_plots_widgets.py"]),
 ("ln 2 drawn over the curves", "src/coursenet/plots.py", 'lw=0.9, zorder=1, label="ln 2"', 'lw=0.9, zorder=5, label="ln 2"', "", ["tests/test_plots_rate_curves.py"]),
 ("ln 10 drawn over 06's rate curves", "src/coursenet/plots.py", 'ls="--", lw=0.9, zorder=1,\n                       label="ln 10")', 'ls="--", lw=0.9, zorder=25,\n                       label="ln 10")', "", ["tests/test_plots_widgets.py"]),
 ("scatter legend on the points", "src/coursenet/plots.py", 'ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16),\n              ncol=min(len(classes), 5), markerscale=2)', 'ax.legend(loc="upper right", markerscale=2)', "legend_outside", ["tests/test_plots.py"]),
 ("confusion plot without numbers", "src/coursenet/plots.py", '        ax.text(j, i, text(v), ha="center", va="center", fontsize=fontsize,\n                color="white" if norm(v) > 0.6 else "black")\n', "        pass\n", "confusion_plot"),
]
TESTS = ["tests/test_mlp.py", "tests/test_scalar.py", "tests/test_history.py",
         "tests/test_blas.py", "tests/test_plots.py", "tests/test_mnist.py"]
# a SIGTERM (e.g. from `timeout`) must still restore the file: raise instead
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
only = sys.argv[1:]  # optional: run the mutants whose name contains one of these
survivors = 0
for name, path, old, new, k, *tests in M:
    if only and not any(word in name for word in only):
        continue
    p = root / path
    src = p.read_text()
    assert src.count(old) == 1, (name, src.count(old))
    p.write_text(src.replace(old, new))
    try:
        select = ["-k", k] if k else []  # no -k: every test of its own files
        r = subprocess.run([sys.executable, "-m", "pytest", *(tests[0] if tests else TESTS), "-q", "-p", "no:cacheprovider", "-o", "addopts=", *select], cwd=root, capture_output=True, text=True)
        last = r.stdout.strip().splitlines()[-1]
        survivors += r.returncode == 0
        print(f"{name:38s} -> {'KILLED' if r.returncode else 'SURVIVED'}: {last}")
    finally:
        p.write_text(src)
sys.exit(1 if survivors else 0)
