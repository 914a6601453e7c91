"""Every exception the package raises, in one flat module.

Layers, from general to specific:

* `BangoResaleError`: anything this package raises on purpose.
* `ApiError`: the platform answered with something that is not success. It carries the HTTP
  status, `responseCode`, `responseMessage`, the request identifier and the raw body.
* One class per documented HTTP status (`ConflictError` for 409, ...), and beneath each one class
  per `responseCode` the spec pairs with that status (`NotAvailableError(ConflictError)`). Catch
  whichever level suits you.
* `TransportError`: no usable answer at all (connection failure, timeout); a refused connection
  to a loopback address is `NothingListeningError`, raised without retries.
* `InvalidArgumentError`: the client refused to send a request it knows is wrong.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import httpx

import bango_resale_spec as spec

from ._retry_after import parse_retry_after

if TYPE_CHECKING:
    from ._results import EntitlementResult


class BangoResaleError(Exception):
    """Base class of every exception raised on purpose by `bango_resale`."""


# --- Refused before sending ---------------------------------------------------------------


class InvalidArgumentError(BangoResaleError, ValueError):
    """An argument cannot be sent as it is; `field` names it and the message says the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        #: The message without the field name, for callers that name the field their own way
        #: (the CLI names its flag).
        self.detail = message


class InvalidReasonError(InvalidArgumentError):
    """A (category, code) pair that is not in the spec's reason table."""

    def __init__(self, field: str, message: str, suggestions: tuple[tuple[str, str], ...]) -> None:
        super().__init__(field, message)
        self.suggestions = suggestions


class ConfigurationError(BangoResaleError):
    """The client's base URL or credentials are missing or unusable."""


class InvalidBaseUrlError(ConfigurationError):
    """The base URL is not an absolute http:// or https:// URL.

    `setting` names where it came from as the caller gave it (`base_url`, or the environment
    variable `BANGO_RESALE_BASE_URL`); `detail` is the message without it.
    """

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail


class ClientActionError(BangoResaleError):
    """A client action cannot be carried out: no handler registered, or no fresh URL."""


# --- No answer -----------------------------------------------------------------------------


class TransportError(BangoResaleError):
    """The request got no HTTP answer; `attempts` says how many times it was tried, `url` where."""

    def __init__(
        self,
        message: str,
        *,
        request_identifier: str | None,
        attempts: int,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.request_identifier = request_identifier
        self.attempts = attempts
        self.url = url


class ConnectError(TransportError):
    """The platform could not be reached (DNS, refused connection, TLS, dropped connection)."""


class NothingListeningError(ConnectError):
    """A loopback base URL refused the connection: nothing listens there, so the call fails at
    once instead of retrying. `start_command` starts a sandbox at that address."""

    def __init__(
        self,
        message: str,
        *,
        request_identifier: str | None,
        attempts: int,
        url: str | None,
        start_command: str,
    ) -> None:
        super().__init__(message, request_identifier=request_identifier, attempts=attempts, url=url)
        self.start_command = start_command


class RequestTimeoutError(TransportError):
    """The platform did not answer within the timeout."""


# --- The platform answered, but not with success ---------------------------------------------


class ApiError(BangoResaleError):
    """The platform answered with an error, or with something the client cannot use."""

    #: The HTTP status this class stands for; `None` on classes not pinned to one status.
    http_status_class: ClassVar[int | None] = None
    #: The `responseCode` this class stands for; `None` on classes not pinned to one code.
    response_code_class: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        response_code: str | None,
        response_message: str | None,
        request_identifier: str | None,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.response_code = response_code
        self.response_message = response_message
        self.request_identifier = request_identifier
        self.body = body
        # Case-insensitive like HTTP itself: `error.headers["Retry-After"]` must work even though
        # httpx hands the names over lower-cased.
        self.headers: Mapping[str, str] = httpx.Headers(headers)
        self.attempts = attempts

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status={self.http_status}, "
            f"response_code={self.response_code!r}, response_message={self.response_message!r}, "
            f"request_identifier={self.request_identifier!r})"
        )


class MalformedResponseError(ApiError):
    """A success status whose body is not JSON or lacks the documented fields."""


class UnknownResponseCodeError(ApiError):
    """A success status with a `responseCode` this client does not know (Bango added one?)."""


class UnexpectedStatusError(ApiError):
    """An HTTP status the spec does not document for this API."""


class UnknownClientActionError(ApiError):
    """`CLIENT_ACTION_REQUIRED` asked for an action this client does not know.

    The request itself succeeded: `result` holds the entitlement and the raw action, so nothing
    is lost by raising.
    """

    def __init__(self, message: str, *, result: EntitlementResult, body: bytes) -> None:
        super().__init__(
            message,
            http_status=result.http_status,
            response_code=result.response_code,
            response_message=result.response_message,
            request_identifier=result.request_identifier,
            body=body,
        )
        self.result = result


class InvalidRequestError(ApiError):
    """HTTP 400: the platform rejected the request as invalid."""

    http_status_class = 400


class AuthenticationError(ApiError):
    """HTTP 401: wrong credentials, or the caller may not do this."""

    http_status_class = 401


class ForbiddenError(ApiError):
    """HTTP 403: the platform refused the request for where it came from, not for its
    credentials."""

    http_status_class = 403


class ResourceNotFoundError(ApiError):
    """HTTP 404: nothing found under that id for this reseller."""

    http_status_class = 404


class ConflictError(ApiError):
    """HTTP 409: the request clashes with the entitlement's current state."""

    http_status_class = 409


class UnsupportedMediaTypeError(ApiError):
    """HTTP 415: the request body was not sent as `Content-Type: application/json`."""

    http_status_class = 415


class RateLimitError(ApiError):
    """HTTP 429: the request limit is reached; `retry_after` says how long to wait."""

    http_status_class = 429

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class InternalServerError(ApiError):
    """HTTP 500: a platform fault; usually transient."""

    http_status_class = 500


class PlatformUnavailableError(ApiError):
    """HTTP 503: the platform is down for maintenance; usually transient."""

    http_status_class = 503


class BadRequestError(InvalidRequestError):
    """`BAD_REQUEST`: a field is missing or invalid, or the reason pair is not accepted."""

    response_code_class = "BAD_REQUEST"


class RequestIdentifierReusedError(BadRequestError, ConflictError):
    """HTTP 409 `BAD_REQUEST`: the `X-RequestIdentifier` (`request_id=`) already stands for a
    different request, so the platform refused this one without doing anything.

    Send a new id for a new request. Repeating the first request unchanged under the old id gets
    its stored answer back. Both `except BadRequestError` and `except ConflictError` catch it.
    """

    http_status_class = 409


class BodyNotJsonError(BadRequestError, UnsupportedMediaTypeError):
    """HTTP 415 `BAD_REQUEST`: the body was sent with a `Content-Type` other than
    `application/json`, so the platform refused it unread. The client always sends JSON: this
    comes from `extra_headers=` overriding the content type."""

    http_status_class = 415


class UnauthorizedError(AuthenticationError):
    """`UNAUTHORIZED`: check the reseller credentials."""

    response_code_class = "UNAUTHORIZED"


class ForeignOriginError(UnauthorizedError, ForbiddenError):
    """HTTP 403 `UNAUTHORIZED`: the write carried an `Origin` header naming another site, and
    the platform refuses writes from other sites' pages. API clients send no `Origin`: drop the
    header (`extra_headers=`), or send the write from your server rather than a browser page."""

    http_status_class = 403


class NotFoundError(ResourceNotFoundError):
    """`NOT_FOUND`: no such entitlement for this reseller."""

    response_code_class = "NOT_FOUND"


class AlreadyExistsError(ConflictError):
    """`ALREADY_EXISTS`: the entitlement (or the id asked for) already exists or is active."""

    response_code_class = "ALREADY_EXISTS"


class NotAvailableError(ConflictError):
    """`NOT_AVAILABLE`: not possible for this entitlement or merchant right now."""

    response_code_class = "NOT_AVAILABLE"


class TooManyRequestsError(RateLimitError):
    """`TOO_MANY_REQUESTS`: slow down; the retry policy already waited as told."""

    response_code_class = "TOO_MANY_REQUESTS"


class InternalError(InternalServerError):
    """`INTERNAL_ERROR`: an unexpected platform fault, still there after the retries."""

    response_code_class = "INTERNAL_ERROR"


class ServiceUnavailableError(PlatformUnavailableError):
    """`SERVICE_UNAVAILABLE`: maintenance, still going on after the retries."""

    response_code_class = "SERVICE_UNAVAILABLE"


# --- Notifications ---------------------------------------------------------------------------


class NotificationError(BangoResaleError):
    """An incoming notification request could not be accepted."""


class NotificationAuthenticationError(NotificationError):
    """The notification's credentials are missing or wrong; answer 401 and drop it."""


class InvalidNotificationError(NotificationError):
    """The notification body is not a notification; answer 400 so the platform redelivers."""


# --- Lookup tables (the one place that maps an answer to a class) ---------------------------

STATUS_ERRORS: Mapping[int, type[ApiError]] = {
    cls.http_status_class: cls
    for cls in (
        InvalidRequestError,
        AuthenticationError,
        ForbiddenError,
        ResourceNotFoundError,
        ConflictError,
        UnsupportedMediaTypeError,
        RateLimitError,
        InternalServerError,
        PlatformUnavailableError,
    )
    if cls.http_status_class is not None
}

RESPONSE_CODE_ERRORS: Mapping[str, type[ApiError]] = {
    cls.response_code_class: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        NotFoundError,
        AlreadyExistsError,
        NotAvailableError,
        TooManyRequestsError,
        InternalError,
        ServiceUnavailableError,
    )
    if cls.response_code_class is not None
}


#: The classes of the answers the spec limits to one cause (its `x-response-codes` rows with a
#: `cause`): a pair of status and code that means exactly that.
CAUSE_ERRORS: Mapping[str, type[ApiError]] = {
    spec.REQUEST_IDENTIFIER_REUSED: RequestIdentifierReusedError,
    spec.UNSUPPORTED_MEDIA_TYPE: BodyNotJsonError,
    spec.FOREIGN_ORIGIN: ForeignOriginError,
}


def error_class_for(http_status: int, response_code: str | None) -> type[ApiError]:
    """Pick the most specific class for an error answer.

    A pair of status and code the spec's response-code table limits to one cause (a reused
    `X-RequestIdentifier`, a body not sent as JSON, a write from another site) gets that cause's
    class. Otherwise a known `responseCode` wins, so callers can rely on `except
    NotAvailableError` whatever status came with it; otherwise the status decides; otherwise the
    answer is undocumented.
    """
    if response_code is not None:
        caused = _caused_answers().get((http_status, response_code))
        if caused is not None:
            return caused
        if response_code in RESPONSE_CODE_ERRORS:
            return RESPONSE_CODE_ERRORS[response_code]
    if http_status in STATUS_ERRORS:
        return STATUS_ERRORS[http_status]
    return UnexpectedStatusError


@functools.cache
def _caused_answers() -> Mapping[tuple[int, str], type[ApiError]]:
    answers = {}
    for cause, cls in CAUSE_ERRORS.items():
        row = spec.response_code_row_for(cause)
        answers[(row.http_status, row.response_code)] = cls
    return answers


# --- From httpx's failures (the one place that maps them) -----------------------------------


def transport_error(
    exc: httpx.HTTPError,
    doing: str,
    url: str,
    *,
    request_identifier: str | None,
    attempts: int,
    base_url_setting: str,
) -> BangoResaleError:
    """Our exception for an httpx failure of the request `doing` (e.g. `echo: GET URL`).

    `base_url_setting` names where the base URL came from, as the caller gave it, so that a
    refused local connection can say what to correct.
    """
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(
            f"{doing}: {type(exc).__name__}: {exc}",
            request_identifier=request_identifier,
            attempts=attempts,
            url=url,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigurationError(f"{doing}: {exc} (check the base URL)")
    target = httpx.URL(url)
    if isinstance(exc, httpx.ConnectError) and _refused(exc) and is_local_host(target.host):
        command = sandbox_command(target)
        return NothingListeningError(
            f"{doing}: connection refused: nothing listens at {origin_of(target)}; start the"
            f" sandbox with `{command}`, or correct {base_url_setting}",
            request_identifier=request_identifier,
            attempts=attempts,
            url=url,
            start_command=command,
        )
    return ConnectError(
        f"{doing}: {type(exc).__name__}: {exc}",
        request_identifier=request_identifier,
        attempts=attempts,
        url=url,
    )


def _refused(exc: BaseException | None) -> bool:
    """True when the failure beneath is the OS refusing the connection (at every address
    tried, where a name gave several: the async client's anyio reports those as a group)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return all(_refused(member) for member in exc.exceptions)
        exc = exc.__cause__ or exc.__context__
    return False


def is_local_host(host: str) -> bool:
    """This machine: a loopback address or name, or the unspecified address (0.0.0.0, ::)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def origin_of(url: httpx.URL) -> str:
    """`scheme://host:port` of a URL, as it would be typed (brackets around IPv6 included)."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def sandbox_command(url: httpx.URL) -> str:
    """The `bango-resale-sandbox` command that listens where `url` points."""
    port = url.port or (443 if url.scheme == "https" else 80)
    # The sandbox listens on 127.0.0.1 unless told otherwise, which `localhost` reaches too.
    host = "" if url.host in ("127.0.0.1", "localhost") else f" --host {url.host}"
    return f"bango-resale-sandbox{host} --port {port}"
