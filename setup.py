"""Only a work-around; the project's metadata lives in pyproject.toml.

An editable install (`pip install -e .`) of a setuptools project skips its
data-files (pypa/setuptools#3399: the editable build asks the distribution for
``has_data()``, which setuptools calls ``has_data_files()``). Those files are the
JupyterLab settings that keep the course's first screen quiet, so map the one
name onto the other. Remove this file once setuptools installs data-files in
editable mode (tests/test_packaging.py checks they are installed).
"""

from setuptools import setup
from setuptools.dist import Distribution


class _Distribution(Distribution):
    def has_data(self):
        return self.has_data_files()


setup(distclass=_Distribution)
