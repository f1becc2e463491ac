"""The public home of jobkit's error classes (defined in `jobkit.core.errors`)."""

from jobkit.core.errors import (
    DuplicateHandlerError,
    DuplicateJobError,
    InvalidBehaviorError,
    InvalidJobError,
    InvalidPolicyError,
    InvalidTransitionError,
    InvalidUrlError,
    InvalidWorkloadError,
    JobkitError,
    JobNotFoundError,
    LeaseLostError,
    NoHandlerError,
    NotIdleError,
)

__all__ = [
    "DuplicateHandlerError",
    "DuplicateJobError",
    "InvalidBehaviorError",
    "InvalidJobError",
    "InvalidPolicyError",
    "InvalidTransitionError",
    "InvalidUrlError",
    "InvalidWorkloadError",
    "JobNotFoundError",
    "JobkitError",
    "LeaseLostError",
    "NoHandlerError",
    "NotIdleError",
]
