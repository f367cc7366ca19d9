"""Jupyter server settings for every user of the course hub.

A JupyterLab terminal starts a login shell by default, and Debian's
/etc/profile then resets PATH, so the course environment's commands
(`nbgrader submit student`, `python`) would be missing from it. A non-login
shell keeps the PATH the hub gives each server (deploy/jupyterhub_config.py).
"""

c = get_config()  # noqa: F821 (traitlets' config loader defines it)

c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}
