"""Errors a user can cause. The CLI prints their message as one line and exits with `exit_code`."""


class CppoError(Exception):
    """A problem the user can fix (bad input, missing files). Exit code 1."""

    exit_code = 1


class UsageError(CppoError):
    """A wrong command line: unknown task, bad flag or override. Exit code 2, like argparse."""

    exit_code = 2
