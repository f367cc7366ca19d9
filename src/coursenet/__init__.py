"""coursenet: backpropagation from scratch, the toolbox behind the course notebooks.

The lesson (read these): ``scalar`` (the network in plain Python), ``layers``,
``losses``, ``mlp`` (the numpy network), ``train`` (minibatch SGD),
``history``, ``gradcheck`` (the referee). Around it: ``data`` and ``mnist``,
``plots``, ``widgets``, ``display`` and ``exercises`` (the checks the student
notebooks call). Import them by name, e.g. ``from coursenet import mlp, losses``.

The speed (private, ``_``-prefixed, each pinned by tests to the readable
function its first line names): ``_fast_scalar`` (the fused per-instance step),
``_fast_step`` (the buffered minibatch step), ``_fast_eval`` (the chunked
evaluator), ``_blas`` (one BLAS call for the weight update); ``_checks`` holds
the argument checks.
"""

__version__ = "0.1.0"
