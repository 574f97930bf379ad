"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Base class for every error caused by user input (specs, files, options).

    The command line turns one into a single line ``rhoproof: error: ...`` and exit code 2.

    Examples
    --------
    >>> from rhoproof import UserError, group
    >>> try:
    ...     group("Q9")
    ... except UserError as exc:
    ...     print(type(exc).__name__, "-", str(exc)[:34])
    GroupSpecError - unknown group spec 'Q9' in 'Q9': e
    """


class GroupSpecError(UserError):
    """A group spec that the grammar does not accept, or a Cayley table that is not a group."""


class RunError(UserError):
    """A run directory that is missing, corrupt, or does not match the group or config."""


class ConfigError(UserError):
    """A training or evaluation option with an invalid value."""


class CertificateError(UserError):
    """A certificate file that cannot be read, or whose claims the checker refuses."""


class Interrupted(UserError):
    """Work stopped by a signal (Ctrl-C, SIGTERM) after saving what it had: not an error.
    The command line prints one line and exits with 128 + ``signum`` (130, or 143)."""

    def __init__(self, message: str, signum: int = 2, epoch: int | None = None) -> None:
        super().__init__(message)
        self.signum = int(signum)
        self.epoch = epoch
