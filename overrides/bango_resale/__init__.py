"""Typed Python client for the Bango Resale entitlement API.

Everything a caller may use is imported here and listed in `__all__`; the underscore modules
are implementation details, and `bango_resale_generated` (the generated client) sits beneath.
"""

from __future__ import annotations

import bango_resale_spec as spec  # the contract reader, re-exported for callers

from . import _constants
from ._actions import ClientAction, NavigateToUrl, UnknownClientAction
from ._async_client import AsyncResaleClient
from ._constants import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from ._errors import (
    AlreadyExistsError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    BangoResaleError,
    BodyNotJsonError,
    ClientActionError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ForbiddenError,
    ForeignOriginError,
    InternalError,
    InternalServerError,
    InvalidArgumentError,
    InvalidBaseUrlError,
    InvalidNotificationError,
    InvalidReasonError,
    InvalidRequestError,
    MalformedResponseError,
    NotAvailableError,
    NotFoundError,
    NothingListeningError,
    NotificationAuthenticationError,
    NotificationError,
    PlatformUnavailableError,
    RateLimitError,
    RequestIdentifierReusedError,
    RequestTimeoutError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
    UnexpectedStatusError,
    UnknownClientActionError,
    UnknownResponseCodeError,
    UnsupportedMediaTypeError,
)
from ._notifications import (
    NotificationEvent,
    NotificationReceiver,
    build_notification_request,
)
from ._operations import OMITTED
from ._reasons import Reason, ReasonLike, ReasonWarning
from ._results import EchoResult, Entitlement, EntitlementResult, Outcome
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from ._sync_client import ResaleClient

__version__ = _constants.VERSION

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUT",
    "OMITTED",
    "AlreadyExistsError",
    "ApiError",
    "AsyncResaleClient",
    "AuthenticationError",
    "BadRequestError",
    "BangoResaleError",
    "BodyNotJsonError",
    "ClientAction",
    "ClientActionError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "EchoResult",
    "Entitlement",
    "EntitlementResult",
    "ForbiddenError",
    "ForeignOriginError",
    "InternalError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidBaseUrlError",
    "InvalidNotificationError",
    "InvalidReasonError",
    "InvalidRequestError",
    "MalformedResponseError",
    "NavigateToUrl",
    "NotAvailableError",
    "NotFoundError",
    "NothingListeningError",
    "NotificationAuthenticationError",
    "NotificationError",
    "NotificationEvent",
    "NotificationReceiver",
    "Outcome",
    "PlatformUnavailableError",
    "RateLimitError",
    "Reason",
    "ReasonLike",
    "ReasonWarning",
    "RequestIdentifierReusedError",
    "RequestTimeoutError",
    "ResaleClient",
    "ResourceNotFoundError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "UnexpectedStatusError",
    "UnknownClientAction",
    "UnknownClientActionError",
    "UnknownResponseCodeError",
    "UnsupportedMediaTypeError",
    "__version__",
    "build_notification_request",
    "spec",
]
