"""What went wrong with a call, decided once: `classify(exc)` for any exception from the SDK (or the disk
beside it), and `ApiError`, the one exception the rest of batchboard sees from the API.

Nothing here imports the SDK: exceptions are read by their attributes (`status_code`, `type`,
`api_message`, `request_id`) and class names. Everything in a message comes from the network and is
untrusted: it is made `printable`, and the UI must still show it as text, never as markup.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from batchboard.core.format import printable

#: Statuses where the same request may succeed later (timeout, conflict, rate limit; 5xx below).
RETRYABLE_STATUSES = frozenset({408, 409, 429})
OVERLOADED = 529
#: Disk errors that last (a full or read-only disk, a file at the size limit, stay so for a while): not
#: worth trying again now.
LASTING_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
#: Where to look when the service itself is failing.
STATUS_PAGE = "https://status.anthropic.com"

_HEADLINES = {
    529: "The API is overloaded",
    429: "Rate limited",
    401: "The API key was refused",
    403: "Permission denied",
    404: "Not found",
    400: "The API rejected the request",
    413: "The request is too large",
    500: "The API had an internal error",
    504: "The API timed out",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed call, classified. Text fields are `printable` (no terminal escapes)."""

    kind: str
    """'status' (the API answered with an error), 'timeout', 'connection' (no answer), 'disk' or
    'unexpected'."""
    status: int | None
    """The HTTP status when a response arrived (200 for an error event in the middle of a stream)."""
    error_type: str | None
    """The API's error type (`overloaded_error`...), or the kind when no response arrived."""
    api_message: str | None
    request_id: str | None
    retryable: bool
    """Sending the same request again, later, may succeed (408/409/429/5xx, a dropped connection, a
    disk error that does not last)."""
    never_reached: bool
    """The request never reached the server (no connection was made): it cannot have done anything."""
    rejected: bool
    """The server refused it before doing any work (a 4xx, or 529 overloaded): nothing was done."""
    message: str
    """What to tell the user, short (toasts, the header, the CLI): "HTTP 429 rate_limit_error: ...
    (request req_...)"."""
    explanation: str
    """The same in a sentence, where there is room (the chat pane): "Rate limited (HTTP 429,
    rate_limit_error): ... [request req_...]"."""
    advice: str = ""
    """What happened and what to do, for a caller that gives up (the CLI's reads, a failed download):
    "The service is failing on its side...: try again in a minute...". Empty when the message says it
    all (a 4xx names the request's fault)."""

    @property
    def in_full(self) -> str:
        """`message` and then `advice`: what a caller that gives up prints."""
        return f"{self.message}. {self.advice}" if self.advice else self.message

    @property
    def did_nothing(self) -> bool:
        """Certainly without effect on the server (never reached it, or refused up front)."""
        return self.never_reached or self.rejected


def sdk_error() -> type[Exception]:
    """The SDK's base exception class, `anthropic.AnthropicError`, for an `except` clause around a call
    that went through the SDK (the SDK is loaded by then: a client exists). `except sdk_error() as exc`
    only evaluates it when something was raised."""
    from anthropic import AnthropicError

    return AnthropicError


def classify(exc: BaseException, path: str | os.PathLike[str] | None = None) -> Failure:
    """Classify any exception raised by an SDK call (or by the disk while handling its answer). `path`
    names the file being written when the error does not (a failed `write` carries no file name)."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return _status_failure(exc, status)
    name = type(exc).__name__
    never_reached = _never_reached_server(exc)
    if "Timeout" in name:
        text = "The API did not answer in time (timeout)."
        advice = f"Check the network connection, then try again in a minute (service status: {STATUS_PAGE})."
        return Failure("timeout", None, "timeout", None, None, True, never_reached, False, text, text, advice)
    if "Connection" in name:
        return Failure(
            "connection",
            None,
            "connection",
            None,
            None,
            _connection_retryable(exc),
            never_reached,
            False,
            printable(f"Could not reach the API: {exc}"),
            printable(f"Could not reach the API ({name}): {exc}"),
            "Check the network connection and the profile's base_url, then try again "
            f"(service status: {STATUS_PAGE}).",
        )
    if isinstance(exc, OSError):
        return _disk_failure(exc, never_reached, path)
    return Failure(
        "unexpected",
        None,
        "unexpected",
        None,
        None,
        _connection_level(exc),
        never_reached,
        False,
        printable(f"{name}: {exc}"),
        printable(f"Unexpected error ({name}): {exc}"),
    )


def _status_failure(exc: BaseException, status: int) -> Failure:
    raw_type = getattr(exc, "type", None)
    error_type = str(raw_type) if raw_type else None
    raw_message = getattr(exc, "api_message", None)
    api_message = printable(str(raw_message)) if raw_message else None
    raw_id = getattr(exc, "request_id", None)
    request_id = str(raw_id) if raw_id else None

    short = f"HTTP {status}" + (f" {error_type}" if error_type else "")
    if api_message:
        short += f": {api_message}"
    if request_id:
        short += f" (request {request_id})"

    if status == 200:
        # The SDK raises APIStatusError with the stream's 200 for an `error` event mid-stream.
        head = f"The stream broke off with an error ({error_type or 'unknown error'})"
    else:
        head = _HEADLINES.get(status, "The API returned an error")
        head += f" (HTTP {status}{', ' + error_type if error_type else ''})"
    said = api_message or _printable_or_none(getattr(exc, "message", None))
    long = f"{head}: {said}" if said else head
    if request_id:
        long += f" [request {request_id}]"

    return Failure(
        "status",
        status,
        error_type,
        api_message,
        request_id,
        retryable=status in RETRYABLE_STATUSES or status >= 500,
        never_reached=False,
        rejected=status < 500 or status == OVERLOADED,
        message=printable(short),
        explanation=printable(long),
        advice=printable(_status_advice(status, request_id)),
    )


def _status_advice(status: int, request_id: str | None) -> str:
    quote = f"; quote request {request_id} if you report it" if request_id else ""
    if status == OVERLOADED:
        return (
            "The service is overloaded (not a fault in the request): try again in a few minutes; "
            f"service status: {STATUS_PAGE}{quote}."
        )
    if status >= 500:
        return (
            "The service is failing on its side (not a fault in the request): try again in a minute; "
            f"if it goes on, see {STATUS_PAGE}{quote}."
        )
    if status == 429:
        return "The rate limit was reached: wait a minute, then try again."
    if status == 408:
        return f"The service took too long: try again in a minute (service status: {STATUS_PAGE})."
    return ""


#: What to do about a lasting disk error.
_DISK_ADVICE = {
    errno.ENOSPC: "Free some space on that disk (or move the data directory), then try again.",
    errno.EDQUOT: "Free some space under your disk quota (or move the data directory), then try again.",
    errno.EROFS: "Make that file system writable (or move the data directory), then try again.",
    errno.EFBIG: "Raise the limit (or move the data directory to a file system that allows larger files), "
    "then try again.",
}


def _disk_failure(exc: OSError, never_reached: bool, path: str | os.PathLike[str] | None) -> Failure:
    name = type(exc).__name__
    code = exc.errno
    if code is None or code not in _DISK_ADVICE:
        at = f" ({os.fsdecode(path)})" if path is not None and exc.filename is None else ""
        return Failure(
            "disk",
            None,
            "unexpected",
            None,
            None,
            code not in LASTING_DISK_ERRORS,
            never_reached,
            False,
            printable(f"{name}: {exc}{at}"),
            printable(f"Unexpected error ({name}): {exc}{at}"),
        )
    where = exc.filename if exc.filename is not None else path
    target = os.fsdecode(where) if where is not None else "a file"
    text = f"Cannot write {target}: {exc.strerror or os.strerror(code)} ({errno.errorcode[code]})"
    if code == errno.EFBIG:
        text += f"; the limit is {file_size_limit()}"
    text = printable(text)
    return Failure(
        "disk", None, "disk", None, None, False, never_reached, False, text, text, _DISK_ADVICE[code]
    )


def file_size_limit() -> str:
    """The limit a file hit when writing it failed with EFBIG: this process's `ulimit -f` when one is
    set, else the file system's own largest file."""
    try:
        import resource
    except ImportError:  # no such limit here (Windows)
        return "the file system's largest file size"
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return "the file system's largest file size"
    return f"the process's file size limit, {soft:,} bytes (ulimit -f)"


def retry_after(exc: BaseException) -> float | None:
    """The seconds a 429 (or 529) asks to wait before trying again, from its `retry-after-ms` or
    `retry-after` header (as the SDK reads them), or None when it gives none."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue  # an HTTP date: not worth parsing for a wait this short
        if seconds >= 0:
            return seconds
    return None


def _printable_or_none(value: object) -> str | None:
    return printable(str(value)) if value else None


def _never_reached_server(exc: BaseException) -> bool:
    """A connection that was never made cannot have done anything (the SDK wraps httpx's ConnectError
    and ConnectTimeout; look down the chain of causes)."""
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _connection_level(exc: BaseException) -> bool:
    """A failure of the SDK's HTTP stack (dropped, reset, incomplete chunked body): worth another try."""
    name = type(exc).__name__
    module = type(exc).__module__
    return (
        "Connection" in name
        or "Protocol" in name
        or "Read" in name
        or module.startswith(("httpx", "httpcore"))
    )


def _connection_retryable(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # ConnectionResetError and friends: errno decides, as for the disk
        return exc.errno not in LASTING_DISK_ERRORS
    return True


class ApiError(Exception):
    """A failed API call, said in plain words: HTTP status, error type, the API's message, request id.

    `status` is None when no response arrived (connection refused, timeout, dropped connection).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        api_message: str | None = None,
        request_id: str | None = None,
        failure: Failure | None = None,
    ) -> None:
        message = printable(message)  # shown in toasts and the header: no terminal escapes from the API
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.api_message = api_message
        self.request_id = request_id
        self.failure = failure

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def in_full(self) -> str:
        """The message and what to do (`Failure.in_full`), for a caller that gives up."""
        return self.failure.in_full if self.failure is not None else self.message

    @classmethod
    def from_sdk(cls, exc: BaseException) -> ApiError:
        """An SDK exception as an ApiError, by `classify`."""
        failure = classify(exc)
        return cls(
            failure.message,
            status=failure.status,
            error_type=failure.error_type,
            api_message=failure.api_message,
            request_id=failure.request_id,
            failure=failure,
        )
