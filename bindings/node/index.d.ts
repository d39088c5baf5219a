// TypeScript declarations of the prodready package (bindings/node).
/// <reference types="node" />

export declare const REQUIRED: [number, number];
export declare const libraryPath: string;
export declare function version(): string;

export declare class LibraryNotFound extends Error {}

/** A failure of the library: its status, stable name, phrase and detail. */
export declare class ProdreadyError extends Error {
  readonly status: number;
  /** The stable identifier ("EMISMATCH"). */
  readonly code: string;
  readonly phrase: string;
  readonly detail: string | null;
  /** The caller's mistake (4xx), not the system's (5xx). */
  readonly clientError: boolean;
  /** PostgreSQL errors: the SQLSTATE. */
  sqlstate?: string;
  /** Refresh rotation: the token was reused (the family is revoked). */
  reused?: boolean;
  subject?: string;
}
export declare class ClientError extends ProdreadyError {}
export declare class ServiceError extends ProdreadyError {}
export declare const errors: {
  InvalidInput: typeof ClientError; Mismatch: typeof ClientError; Expired: typeof ClientError;
  NotYetValid: typeof ClientError; RateLimited: typeof ClientError; Busy: typeof ServiceError;
  Timeout: typeof ServiceError; NoMemory: typeof ServiceError; IOError: typeof ServiceError;
  DatabaseError: typeof ServiceError; RetryExhausted: typeof ServiceError; Closed: typeof ServiceError;
  TooBig: typeof ClientError; NoSpace: typeof ClientError; InvalidToken: typeof ClientError;
  NotFound: typeof ClientError; PermissionError: typeof ServiceError; Conflict: typeof ClientError;
  UnknownOutcome: typeof ServiceError; InternalError: typeof ServiceError; Unsupported: typeof ClientError;
};

/** Every handle: close() frees it (a FinalizationRegistry is a safety net). */
export interface Closeable { close(): void }

export type Bytes = string | Buffer | Uint8Array;

export interface PasswordOptions {
  preset?: 'owasp' | 'rfc9106-low-memory' | 'moderate' | 'sensitive';
  timeCost?: number;
  memoryCost?: number;
  parallelism?: number;
  allowLegacy?: boolean;
  /** How long an idle hash arena stays mapped (ms); 0 keeps none; default 30000. */
  arenaIdleMs?: number;
}
export type RehashReason = 'weaker params' | 'other params' | 'other algorithm' | 'other pepper' | 'legacy format';
export declare class PasswordHasher implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(options?: PasswordOptions);
  /** The Argon2 backend computing new hashes: 'own-avx2', 'libsodium', ... */
  static backend(): string;
  /** Off the event loop. */
  hash(password: Bytes): Promise<string>;
  /** true on a match; rejects with errors.Mismatch for a wrong password. */
  verify(stored: string, password: Bytes): Promise<true>;
  verifyDummy(password: Bytes): Promise<void>;
  needsRehash(stored: string): RehashReason | null;
  verifyAndUpgrade(stored: string, password: Bytes): Promise<string | null>;
  close(): void;
}

export type KeyKind = 'local' | 'public' | 'secret';
export type Purpose = 'local' | 'public';
export declare class Key implements Closeable {
  static generate(kind: 'local' | 'secret'): Key;
  static fromPaserk(paserk: string): Key;
  static fromHex(kind: KeyKind, hex: string): Key;
  publicKey(): Key;
  readonly kind: KeyKind;
  readonly id: string;
  paserk(): string;
  close(): void;
}
export declare class Keyring implements Closeable {
  constructor(keys?: Key[]);
  add(key: Key, current?: boolean): void;
  setCurrent(kid: string): void;
  remove(kid: string): void;
  readonly size: number;
  close(): void;
}
export declare class RawJSON {
  constructor(text: string);
  readonly text: string;
}
export type ClaimValue = string | number | bigint | boolean | null | RawJSON | object;
export interface IssueOptions {
  /** Seconds. */
  ttl?: number;
  expiresAt?: Date;
  notBefore?: Date;
  footer?: string | object;
  implicit?: Bytes;
}
export declare class Revocations implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(pool?: Pool | null, options?: { refresh?: number; maxStale?: number });
  revoke(jti: string, expires: Date | string): Promise<void>;
  check(jti: string): Promise<boolean>;
  readonly size: number;
  close(): void;
}
export interface VerifyOptions {
  revocations?: Revocations;
  leeway?: number;
  issuer?: string;
  audience?: string | string[];
  footer?: Bytes;
  implicit?: Bytes;
  at?: string | Date;
}
export declare function issue(ring: Keyring, purpose: Purpose, claims: Record<string, ClaimValue>, options: IssueOptions): string;
export declare function verify(ring: Keyring, purpose: Purpose, token: string, options?: VerifyOptions): Record<string, unknown>;
export declare function verifyText(ring: Keyring, purpose: Purpose, token: string, options?: VerifyOptions): string;
export declare function payload(claims: Record<string, ClaimValue>, options: IssueOptions): string;
export declare function encrypt(key: Key, payload: Bytes, options?: { footer?: Bytes; implicit?: Bytes }): string;
export declare function sign(key: Key, payload: Bytes, options?: { footer?: Bytes; implicit?: Bytes }): string;
export declare function parseRfc3339(text: string): bigint;

export declare class TokenStore implements Closeable {
  static memory(maxEntries?: number): TokenStore;
  static postgres(pool: Pool): TokenStore;
  close(): void;
}
export declare class Sessions implements Closeable {
  constructor(store: TokenStore, prefix?: string, options?: { idle?: number; absolute?: number });
  create(subject: string): Promise<string>;
  validate(token: string): Promise<string>;
  rotate(token: string): Promise<string>;
  revoke(token: string): Promise<void>;
  revokeSubject(subject: string): Promise<number>;
  issueSingleUse(purpose: string, subject: string, ttl: number, binding?: Bytes): Promise<string>;
  consumeSingleUse(purpose: string, token: string, binding?: Bytes): Promise<string>;
  issueRefresh(subject: string): Promise<string>;
  rotateRefresh(token: string): Promise<{ token: string; subject: string }>;
  close(): void;
}

export interface Rule { name: string; limit: number; window: number; algorithm?: 'exact' | 'counter' | 'gcra'; burst?: number }
export declare class Decision {
  readonly allowed: boolean;
  readonly rule: number;
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
  retryAfter(): string;
}
export type Headers = Record<string, string>;
export declare class Limiter implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(rules: Rule[], options?: { maxKeys?: number });
  check(keys: Bytes | Bytes[], cost?: number): Decision;
  peek(keys: Bytes | Bytes[], cost?: number): Decision;
  reserve(keys: Bytes | Bytes[], cost?: number): { decision: Decision; reservation: { commit(): void; refund(): void } | null };
  policyHeader(): string;
  ratelimitHeader(d: Decision): string;
  problemJson(d: Decision): string;
  headers(d: Decision): Headers;
  close(): void;
}
export declare class SharedLimiter implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(rules: Rule[], pool: Pool, options?: { failOpen?: boolean });
  check(keys: Bytes | Bytes[], cost?: number): Promise<Decision>;
  policyHeader(): string;
  ratelimitHeader(d: Decision): string;
  problemJson(d: Decision): string;
  headers(d: Decision): Headers;
  close(): void;
}
export interface MiddlewareRequest { socket?: { remoteAddress?: string }; ip?: string }
export interface MiddlewareResponse { statusCode: number; setHeader(name: string, value: string): unknown; end(body?: string): unknown }
export declare function rateLimitMiddleware<Req extends MiddlewareRequest, Res extends MiddlewareResponse>(
  limiter: Limiter | SharedLimiter, keyOf?: (req: Req) => Bytes | Bytes[]): (req: Req, res: Res, next: () => void) => Promise<void>;

export interface LoginAttempt { success(): Promise<void>; failure(): Promise<void>; abandon(): Promise<void> }
export declare class LoginGuard implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(options?: { maxKeys?: number; sourceAttempts?: number; sourceWindow?: number; accountFailures?: number;
    accountWindow?: number; freeFailures?: number; backoffBase?: number; backoffCap?: number; pool?: Pool });
  check(account: Bytes, source: Bytes): Promise<{ decision: Decision; attempt: LoginAttempt | null }>;
  unlock(account: Bytes): Promise<void>;
  policyHeader(): string;
  ratelimitHeader(d: Decision): string;
  headers(d: Decision): Headers;
  close(): void;
}

export type Param = string | number | bigint | boolean | null | undefined | Buffer | Uint8Array | Date;
export type Row = Record<string, string | null>;
export declare class Conn {
  execute(sql: string, ...values: Param[]): Promise<number>;
  query(sql: string, ...values: Param[]): Promise<Row[]>;
}
export declare class Pool implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  static connect(conninfo?: string, options?: { maxSize?: number; acquireTimeout?: number; queryTimeout?: number;
    applicationName?: string }): Promise<Pool>;
  connection<T>(fn: (conn: Conn) => Promise<T>): Promise<T>;
  execute(sql: string, ...values: Param[]): Promise<number>;
  query(sql: string, ...values: Param[]): Promise<Row[]>;
  transaction<T>(fn: (tx: Conn) => Promise<T>, options?: { isolation?: 'read committed' | 'repeatable read' | 'serializable';
    readOnly?: boolean; maxAttempts?: number }): Promise<T>;
  migrateStores(): Promise<number>;
  end(drain?: number): Promise<void>;
  close(): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'off';
export declare class Secret {
  constructor(value: string);
}
export declare class Logger implements Closeable {
  /** Counters in Prometheus text exposition format; prefix: letters, digits, _ and : (default per class). */
  prometheus(prefix?: string): string;
  constructor(options?: { level?: LogLevel; fd?: number; file?: string; sink?: (line: string) => void; redactKeys?: string[] });
  setLevel(level: LogLevel): void;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  scrub(line: string): string;
  close(): void;
}
