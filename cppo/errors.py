"""Errors a user can cause. The CLI prints their message as one line and exits with `exit_code`."""


class CppoError(Exception):
    """A problem the user can fix (bad input, missing files). Exit code 1.

    The message is one line whatever the user typed: control characters in it (a newline inside an override,
    say) are shown escaped."""

    exit_code = 1

    def __init__(self, message: str = ""):
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message)))


class UsageError(CppoError):
    """A wrong command line: unknown task, bad flag or override. Exit code 2, like argparse."""

    exit_code = 2
