"""The public home of jobkit's error classes (defined in `jobkit.core.errors`)."""

from jobkit.core.errors import (
    DuplicateHandlerError,
    DuplicateJobError,
    InvalidJobError,
    InvalidPolicyError,
    InvalidTransitionError,
    InvalidUrlError,
    JobkitError,
    JobNotFoundError,
    LeaseLostError,
    NoHandlerError,
    NotIdleError,
)

__all__ = [
    "DuplicateHandlerError",
    "DuplicateJobError",
    "InvalidJobError",
    "InvalidPolicyError",
    "InvalidTransitionError",
    "InvalidUrlError",
    "JobNotFoundError",
    "JobkitError",
    "LeaseLostError",
    "NoHandlerError",
    "NotIdleError",
]
