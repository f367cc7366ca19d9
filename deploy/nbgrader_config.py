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
