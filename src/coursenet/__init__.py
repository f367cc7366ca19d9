"""coursenet: backpropagation from scratch, the toolbox behind the course notebooks.

Modules: ``scalar`` (plain-Python network), ``losses``, ``layers``, ``mlp``,
``train``, ``history``, ``gradcheck``, ``data`` and ``mnist``, ``plots``,
``widgets``, ``display`` and ``exercises`` (the checks the student notebooks
call). Import them by name, e.g. ``from coursenet import mlp, losses``.
"""

__version__ = "0.1.0"
