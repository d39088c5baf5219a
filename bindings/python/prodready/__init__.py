"""prodready: libprodready from Python, through ctypes.

Password hashing (PasswordHasher), PASETO v4 tokens and PASERK keys
(Key, Keyring, Token), rate limits and the login guard (Limiter,
LoginGuard), with errors as exceptions in two families,
ClientError (4xx) and ServiceError (5xx). The library is found through
PRODREADY_LIBRARY, then a build tree beside this package, then the
system loader; its version is checked at import.
"""
from ._lib import LibraryNotFound, version as library_version
from .errors import (Busy, ClientError, Closed, Conflict, DatabaseError, ExpiredToken, InternalError,
                     InvalidInput, InvalidToken, IOFailure, NoSpace, NotFound, NotYetValid,
                     OutcomeUnknown, OutOfMemory, PermissionProblem, ProdreadyError, RateLimited,
                     RetriesExhausted, ServiceError, Timeout, TooBig, Unsupported,
                     VerifyMismatchError)
from .log import DEBUG, ERROR, FATAL, INFO, OFF, WARN, LogHandler, Logger
from .password import PRESETS, Parameters, PasswordHasher, extract_parameters
from .pg import Conn, Pool
from .ratelimit import Decision, Limiter, LoginAttempt, LoginGuard, Reservation, Rule
from .sessions import Sessions, TokenStore
from .tokens import Key, Keyring, RawJSON, Revocations, Token

__version__ = "1.0.0"

__all__ = [
    "LibraryNotFound", "library_version", "LogHandler", "Logger", "DEBUG", "INFO", "WARN",
    "ERROR", "FATAL", "OFF", "Decision", "Limiter", "LoginAttempt", "LoginGuard",
    "Reservation", "Revocations", "Rule", "Conn", "Pool", "Sessions", "TokenStore", "PRESETS", "Parameters", "PasswordHasher",
    "extract_parameters", "Key", "Keyring", "RawJSON", "Token", "ProdreadyError", "ClientError",
    "ServiceError", "InvalidInput", "VerifyMismatchError", "ExpiredToken", "NotYetValid",
    "RateLimited", "Busy", "Timeout", "OutOfMemory", "IOFailure", "DatabaseError",
    "RetriesExhausted", "Closed", "TooBig", "NoSpace", "InvalidToken", "NotFound",
    "PermissionProblem", "Conflict", "OutcomeUnknown", "InternalError", "Unsupported",
]
