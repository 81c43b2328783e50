"""The few error types pip-tfmac raises, each with its own exit code.

Errors are rendered once, at the CLI edge (cli.py): one paragraph saying what happened, why,
and what to do. Exit codes sit above pip's own (0-23) so a script can tell them apart; they are
documented in the README and are part of the interface.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ['ExitCode', 'TfmacError', 'UsageError', 'BadInputError', 'UnsupportedTargetError', 'NoConsistentSetError', 'StrictError', 'CacheError', 'ResolutionError', 'EnvironmentError_', 'NoGpuError', 'VerifyFailedError', 'PublishError']


class ExitCode(IntEnum):
    OK = 0
    USAGE = 64  # bad pip-tfmac option or argument
    BAD_INPUT = 65  # malformed requirement, missing or unreadable file, recursive -r
    UNSUPPORTED_TARGET = 66  # Python/macOS/arch that the request cannot work on
    NO_CONSISTENT_SET = 67  # knowledge says no arm64 build exists for what was asked
    STRICT = 68  # a correction was needed and --strict forbids it
    CACHE = 69  # wheel cache unusable (read-only, full, corrupt beyond repair)
    NO_GPU = 70  # verification ran and found no GPU under --require-gpu
    DOCTOR_FINDINGS = 71  # doctor found problems
    RESOLUTION = 72  # pip could not resolve the planned set (nothing was installed)
    VERIFY_FAILED = 73  # TensorFlow did not import / the probe crashed
    ENVIRONMENT = 74  # target environment cannot be changed (PEP 668, read-only, missing)
    INTERNAL = 75  # a bug in pip-tfmac: reported with a hint, traceback only on request
    LINK_BROKEN = 76  # check-pair: the plugin imports symbols no TensorFlow image exports
    HEALED = 77  # install: the GPU plugin it added broke `import tensorflow` and was removed
    PUBLISH = 78  # wheelhouse publish: the index cannot be reached, refused the upload or the credentials
    INTERRUPTED = 130
    CLOSED_PIPE = 141  # the reader of stdout went away (`| head -1`): quiet, as after SIGPIPE


class TfmacError(Exception):
    """Base class: `message` says what happened, `remedy` what to do about it."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, remedy: str = "", *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.details = details

    def render(self) -> str:
        text = f"pip-tfmac: error: {self.message}"
        if self.details:
            text += "\n" + self.details.rstrip()
        if self.remedy:
            text += f"\n  hint: {self.remedy}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "kind": type(self).__name__,
            "exit_code": int(self.exit_code),
            "message": self.message,
            "remedy": self.remedy,
            "details": self.details,
        }


class UsageError(TfmacError):
    exit_code = ExitCode.USAGE


class BadInputError(TfmacError):
    exit_code = ExitCode.BAD_INPUT


class UnsupportedTargetError(TfmacError):
    exit_code = ExitCode.UNSUPPORTED_TARGET


class NoConsistentSetError(TfmacError):
    exit_code = ExitCode.NO_CONSISTENT_SET


class StrictError(TfmacError):
    exit_code = ExitCode.STRICT


class CacheError(TfmacError):
    exit_code = ExitCode.CACHE


class ResolutionError(TfmacError):
    exit_code = ExitCode.RESOLUTION


class EnvironmentError_(TfmacError):
    exit_code = ExitCode.ENVIRONMENT


class NoGpuError(TfmacError):
    exit_code = ExitCode.NO_GPU


class VerifyFailedError(TfmacError):
    exit_code = ExitCode.VERIFY_FAILED


class PublishError(TfmacError):
    exit_code = ExitCode.PUBLISH
