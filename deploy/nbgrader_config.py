"""nbgrader settings of the coursenet course (the course directory's config).

Used by `make student` (scripts/make_student.py copies it into the temporary
course directory it runs `nbgrader generate_assignment` in), by the instructor
loop test (tests/test_nbgrader.py) and by an instructor's own course directory:
copy it to the course root as `nbgrader_config.py`. The shared exchange of a
class on JupyterHub is set elsewhere, for every user (deploy/jupyter/).
"""

c = get_config()  # noqa: F821 (traitlets' config loader defines it)

c.CourseDirectory.course_id = "coursenet"
# The course's one assignment is called "student" (scripts/make_student.py,
# the hub): nbgrader fetches into and submits from a folder named after the
# assignment, so the students' folder is `student/`, the workbook folder the
# start page (START_HERE.md) links to. Give it on the command line:
# `nbgrader generate_assignment student`, `nbgrader autograde student`.

# A written answer becomes the course's answer prompt (nbgrader's default text
# stub is "YOUR ANSWER HERE"). Set here, not patched afterwards, so that
# nbgrader's checksum of the released cell matches the prompt: an untouched
# prompt is then graded 0 automatically instead of being sent to manual grading.
c.ClearSolutions.text_stub = (
    "**Your answer.** *Double-click this cell, replace this line with"
    " your answer, then press Shift+Enter.*"
)

# Seconds per cell when autograding (nbgrader's default is 30): notebook 06's
# learning-rate sweep alone takes about 13 s on two cores, and a class's server
# is busier than that.
c.Execute.timeout = 180

# Trusted autograding (coursenet.grading; needs Debian's bubblewrap; run as root,
# student code runs as nobody; as an ordinary user, in a user namespace).
# nbgrader's own Execute would run each submission in a kernel as the
# instructor, and score each test cell by whether it raised in that kernel --
# state the student's code controls. SandboxedExecute runs the notebook for the
# feedback inside a sandbox (as nobody, no network, read-only system, no view of
# the course folder); TrustedChecks then judges every graded test cell in a fresh
# sandbox of its own and runs the check outside it, and writes the verdict into
# the test cell, which nbgrader's SaveAutoGrades scores. The rest of the list is
# nbgrader 0.9's default.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from coursenet.grading.nbgrader import SandboxedExecute, TrustedChecks  # noqa: E402

c.Autograde.autograde_preprocessors = [
    SandboxedExecute, TrustedChecks, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
# Seconds for the cells before one check, and for the check's calls into the
# student's code; bytes of address space per sandbox.
c.TrustedChecks.cells_timeout = 120
c.TrustedChecks.check_timeout = 60
c.TrustedChecks.memory = 2 * 2**30

# --- The term (deploy/README.md, "The instructor's term") ----------------------
# Kept at the end of this file: the grading settings above are another part.

# The due date. nbgrader keeps it in the gradebook, not in its settings: `nbgrader
# db assignment add student` (the README's first step of the term) writes this
# one there; autograde marks a submission made after it late (the Formgrader
# shows it) and takes the late policy below off its score. Change it here before
# that step (or re-run the step after changing it); an extension for one student:
# the Formgrader's Manage Students page.
c.DbAssignmentAddApp.duedate = "2027-01-29 17:00:00 UTC"


from nbgrader.plugins import LateSubmissionPlugin  # noqa: E402


class LateByTheDay(LateSubmissionPlugin):
    """The course's late policy: 10 % of a notebook's score off for each day
    or part of a day after the due date, so a submission 10 days late scores 0
    (nbgrader's own choices are no penalty or all points lost)."""

    percent_per_day = 10

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = -(-total_seconds_late // 86400)  # started days, rounded up
        return min(score, score * self.percent_per_day * days / 100)


c.AssignLatePenalties.plugin_class = LateByTheDay
