"""The exception a stubbed reference function raises inside the sandbox."""


class ReferenceBlocked(Exception):
    """The answer called the package's own reference for the graded function."""

    def __init__(self, name):
        super().__init__(
            f"{name} is the package's own reference, not available to an answer"
            " while it is graded: compute the result with your own code")
