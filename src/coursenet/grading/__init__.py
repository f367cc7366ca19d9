"""Trusted autograding: a score only a solution earns, judged where student code
cannot reach.

Why it is built this way. nbgrader's autograder scores a test cell by whether
it raised, in the same kernel the student's cells ran in first; its checksums
protect the locked cells' *source*, not that kernel. So anything the student's
code does before the test cell (pop ``NBGRADER_EXECUTION``, monkeypatch
``exercises.check_*``, rebind ``exercises``, open ``expected_to_fail``, call
``coursenet.losses`` for the answer) decides the score, and the student's code
runs as the instructor, in the instructor's home (nbgrader's own docs say its
autograder trusts the student's kernel). We keep nbgrader's workflow and
commands and take the judging out of the student's process, as PrairieLearn
does: student code runs in a sandbox, the comparison runs outside it.

- :mod:`.sandbox`: bubblewrap, as ``nobody``, no network, read-only system,
  a size-capped tmpfs scratch, rlimits and a wall clock.
- :mod:`.poison`: the package as the sandbox sees it, with the reference
  code the exercise does not need replaced by stubs that raise.
- :mod:`.worker` (inside) and :mod:`.judge` (outside): per graded test cell, a
  fresh sandbox runs the release's given cells and the student's answer
  cells; the check (trusted code, grader-secret cases via :mod:`.salt`) runs
  in the grader on proxies (:mod:`.proxy`) that send data (:mod:`.codec`,
  never pickle) into the sandbox and bring values back.
- :mod:`.nbgrader`: the preprocessors ``deploy/nbgrader_config.py`` puts in
  ``nbgrader autograde``: the notebook for the feedback is executed inside
  the sandbox too, then each test cell's outputs are replaced by the trusted
  verdict, which nbgrader's own SaveAutoGrades scores.
"""
