"""One error tree. Errors are classified where they enter, by what the caller should do next."""

from __future__ import annotations

from datetime import datetime

from syndicate.model import PublishResult


class SyndicateError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(SyndicateError):
    """The configuration is missing, malformed or names something unknown."""


class StoreError(SyndicateError):
    """The database cannot be reached or is not at the expected schema."""


class BrokerError(SyndicateError):
    """The message broker cannot be reached; the ledger still holds the work."""


class FeedError(SyndicateError):
    """A feed could not be fetched or parsed; the poll is recorded as failed."""


class FetchError(FeedError):
    """The feed could not be retrieved (network, HTTP status, size cap)."""


class FeedGone(FetchError):
    """The server answered 410 Gone: stop polling this feed."""


class ParseError(FeedError):
    """The bytes are not a feed feedparser can read."""


class SummaryError(SyndicateError):
    """A summary could not be made the preferred way; the caller falls back and says why."""


class PublishError(SyndicateError):
    """Base of every outcome of a failed publish attempt."""


class TransientError(PublishError):
    """Not processed by the platform; safe to retry after a backoff."""


class RateLimited(PublishError):
    """The platform asked us to wait until `reset_at` (UTC)."""

    def __init__(self, message: str, reset_at: datetime | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class PermanentError(PublishError):
    """The platform will refuse this post every time; do not retry."""


class AuthError(PublishError):
    """The credentials were refused; the account needs a person."""


class OutcomeUnknown(PublishError):
    """The request may have reached the platform; look the post up before any re-send."""


class AlreadyPosted(PublishError):
    """The platform says this post already exists."""

    def __init__(self, message: str, remote: PublishResult | None) -> None:
        super().__init__(message)
        self.remote = remote
