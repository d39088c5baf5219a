// prodready for Node: the production-ready parts of a service over
// libprodready's C ABI (koffi; no compiler at install time). Everything
// that blocks (hashing, verification, waiting for a connection, queries,
// transactions) returns a Promise and runs off the event loop; quick calls
// (limiter checks, token verification, logging) are synchronous.
export { LibraryNotFound, REQUIRED, path as libraryPath } from './lib/ffi.mjs';
export { ProdreadyError, ClientError, ServiceError, classes as errors } from './lib/errors.mjs';
export { PasswordHasher } from './lib/password.mjs';
export { Key, Keyring, RawJSON, Revocations, issue, verify, verifyText, payload, encrypt, sign, parseRfc3339 } from './lib/tokens.mjs';
export { TokenStore, Sessions } from './lib/sessions.mjs';
export { Limiter, SharedLimiter, LoginGuard, Decision, rateLimitMiddleware } from './lib/ratelimit.mjs';
export { Pool, Conn } from './lib/pg.mjs';
export { Logger, Secret } from './lib/log.mjs';
import { C } from './lib/ffi.mjs';

/** The loaded library's version, "MAJOR.MINOR.PATCH". */
export function version() { return C.prd_version(); }
