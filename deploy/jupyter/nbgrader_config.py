"""nbgrader settings for every user of the course hub (students and instructors).

deploy/jupyterhub_config.py puts this folder on each user server's
JUPYTER_CONFIG_PATH, so `nbgrader fetch_assignment`, `submit`, `release_assignment`
and `collect` all use one exchange folder on the server and the course id.
"""

import os

c = get_config()  # noqa: F821 (traitlets' config loader defines it)

c.CourseDirectory.course_id = "coursenet"
# One folder every user can write to (nbgrader's exchange):
#   install -d -m 0777 /srv/nbgrader/exchange
c.Exchange.root = os.environ.get("COURSENET_EXCHANGE", "/srv/nbgrader/exchange")

# An instructor's nbgrader commands and Formgrader work on ~/course (made by
# deploy/singleuser.py) from any folder.
if os.environ.get("COURSENET_ROLE") == "instructor":
    c.CourseDirectory.root = os.path.join(os.path.expanduser("~"), "course")
