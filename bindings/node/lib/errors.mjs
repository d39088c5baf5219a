// Errors: one class per status, in two families (ClientError for the
// caller's mistakes, 4xx; ServiceError for system failures, 5xx), each
// carrying the status number, its stable name and phrase, and the
// library's detail where it gave one.
import { C } from './ffi.mjs';

export class ProdreadyError extends Error {
  constructor(status, detail) {
    const phrase = C.prd_status_str(status);
    super(detail ? `${phrase}: ${detail}` : phrase);
    this.status = status;
    this.code = C.prd_status_name(status);
    this.phrase = phrase;
    this.detail = detail ?? null;
    this.clientError = C.prd_status_is_client_error(status) !== 0;
  }
}
export class ClientError extends ProdreadyError {}
export class ServiceError extends ProdreadyError {}

const NAMES = [null, 'InvalidInput', 'Mismatch', 'Expired', 'NotYetValid', 'RateLimited', 'Busy', 'Timeout',
  'NoMemory', 'IOError', 'DatabaseError', 'RetryExhausted', 'Closed', 'TooBig', 'NoSpace', 'InvalidToken',
  'NotFound', 'PermissionError', 'Conflict', 'UnknownOutcome', 'InternalError', 'Unsupported'];

/** The class of every status, by number: errors.InvalidToken, errors.Expired, ... */
export const classes = {};
const byStatus = new Map();
for (let st = 1; st < NAMES.length; st++) {
  const base = C.prd_status_is_client_error(st) ? ClientError : ServiceError;
  const cls = { [NAMES[st]]: class extends base {} }[NAMES[st]];
  classes[NAMES[st]] = cls;
  byStatus.set(st, cls);
}

/** The error for a status (an unknown number gets the base class of its family). */
export function errorFor(status, detail) {
  const cls = byStatus.get(status) ?? (C.prd_status_is_client_error(status) ? ClientError : ServiceError);
  const e = new cls(status, detail);
  e.name = cls.name || 'ProdreadyError';
  return e;
}

/** Throw unless status is PRD_OK. */
export function check(status, detail) {
  if (status !== 0) throw errorFor(status, typeof detail === 'function' ? detail() : detail);
}
