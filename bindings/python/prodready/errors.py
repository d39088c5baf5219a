"""Exceptions mapped from prd_status, in two families: ClientError (the
caller's or its user's mistake, an HTTP 4xx) and ServiceError (a system
failure, a 5xx). Every exception carries .status (the number), .name
("EMISMATCH") and .phrase (the library's fixed phrase, safe to show)."""
from . import _lib


class ProdreadyError(Exception):
    """Base of every error the library reports."""

    status = -1

    def __init__(self, status=None, detail=None):
        if status is None:
            status = type(self).status
        self.status = status
        self.name = _lib.lib.prd_status_name(status).decode()
        self.phrase = _lib.lib.prd_status_str(status).decode()
        self.detail = detail
        super().__init__(f"{self.phrase}: {detail}" if detail else self.phrase)


class ClientError(ProdreadyError):
    """The caller's mistake (HTTP 4xx): bad input, a wrong password, an expired token."""


class ServiceError(ProdreadyError):
    """A system failure (HTTP 5xx): database down, out of memory, busy, timed out."""


def _client(name, code, doc):
    return type(name, (ClientError,), {"status": code, "__doc__": doc})


def _service(name, code, doc):
    return type(name, (ServiceError,), {"status": code, "__doc__": doc})


InvalidInput = _client("InvalidInput", 1, "Invalid input or argument (PRD_EINVAL).")
VerifyMismatchError = _client("VerifyMismatchError", 2,
                              "The password does not match the hash (PRD_EMISMATCH), "
                              "named as argon2-cffi names it.")
ExpiredToken = _client("ExpiredToken", 3, "The token or session expired (PRD_EEXPIRED).")
NotYetValid = _client("NotYetValid", 4, "The token is not valid yet (PRD_ENOTYET).")
RateLimited = _client("RateLimited", 5, "A rate limit was exceeded (PRD_ELIMITED).")
Busy = _service("Busy", 6, "A resource is busy; try again later (PRD_EBUSY).")
Timeout = _service("Timeout", 7, "The operation timed out (PRD_ETIMEOUT).")
OutOfMemory = _service("OutOfMemory", 8, "Out of memory (PRD_ENOMEM).")
IOFailure = _service("IOFailure", 9, "Input/output error (PRD_EIO).")
DatabaseError = _service("DatabaseError", 10, "A database error (PRD_EDB).")
RetriesExhausted = _service("RetriesExhausted", 11, "Retries exhausted (PRD_ERETRY).")
Closed = _service("Closed", 12, "The handle is closed or shutting down (PRD_ECLOSED).")
TooBig = _client("TooBig", 13, "Input exceeds a configured limit (PRD_ETOOBIG).")
NoSpace = _client("NoSpace", 14, "An output buffer was too small (PRD_ENOSPACE).")
InvalidToken = _client("InvalidToken", 15, "The token is invalid (PRD_EBADTOKEN).")
NotFound = _client("NotFound", 16, "No such key, session or entry (PRD_ENOTFOUND).")
PermissionProblem = _service("PermissionProblem", 17, "A permission problem (PRD_EPERM).")
Conflict = _client("Conflict", 18, "A constraint was violated (PRD_ECONFLICT).")
OutcomeUnknown = _service("OutcomeUnknown", 19,
                          "The outcome is unknown (connection lost during COMMIT) (PRD_EUNKNOWN).")
InternalError = _service("InternalError", 20, "An internal error (PRD_EINTERNAL).")
Unsupported = _client("Unsupported", 21,
                      "Valid but unsupported algorithm or format (PRD_EUNSUPPORTED).")

_BY_STATUS = {cls.status: cls for cls in (
    InvalidInput, VerifyMismatchError, ExpiredToken, NotYetValid, RateLimited, Busy, Timeout,
    OutOfMemory, IOFailure, DatabaseError, RetriesExhausted, Closed, TooBig, NoSpace, InvalidToken,
    NotFound, PermissionProblem, Conflict, OutcomeUnknown, InternalError, Unsupported)}


def error_for(status, detail=None):
    """The exception for a status (a generic one for a code this binding does not know)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ClientError if _lib.lib.prd_status_is_client_error(status) else ServiceError
    return cls(status, detail)


def check(status, detail=None):
    """Raise the exception for a failing status; return None for PRD_OK."""
    if status != 0:
        raise error_for(status, detail)
