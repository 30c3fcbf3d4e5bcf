/**
 * Every error the gateway raises on purpose, with a stable code.
 *
 * `status` is the HTTP status a portal or API answer uses; `expose` says whether
 * the message may be shown to the person on the other side (never for 5xx, whose
 * details go to the log only). The original error, when there is one, is kept as
 * `cause` so nothing is lost between the place it happened and the log line.
 */
export abstract class GatewayError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  get expose(): boolean {
    return this.status < 500;
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
  /** Fields a JSON answer carries beside `code` and `message` (what an API client needs to act on it). */
  details(): Record<string, unknown> {
    return {};
  }
  /** What a page shows a person (when `expose`): the message, unless the error has plainer words for a page than for the log. */
  get publicMessage(): string {
    return this.message;
  }
}

/** The configuration file is missing, unreadable or does not match the schema. */
export class ConfigError extends GatewayError {
  readonly code = 'EG_CONFIG';
  readonly status = 500;
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The gateway could not start for a reason outside its configuration: a RADIUS worker that never said it listens. */
export class StartError extends GatewayError {
  readonly code = 'EG_START';
  readonly status = 500;
}

/** Username or password is wrong (or the user does not exist: the two are never told apart). */
export class InvalidCredentialsError extends GatewayError {
  readonly code = 'EG_INVALID_CREDENTIALS';
  readonly status = 401;
  constructor(message = 'Wrong username or password.') {
    super(message);
  }
}

/** The user exists and the password is right, but the user may not use the Wi-Fi (required group). */
export class NotAllowedError extends GatewayError {
  readonly code = 'EG_NOT_ALLOWED';
  readonly status = 403;
  constructor(message = 'Your account is not allowed to use this Wi-Fi. Ask IT to add you to the Wi-Fi users group.') {
    super(message);
  }
}

/** PEAP's MSCHAPv2 for a person whose NT hash the directory does not keep (the users file's nt_hash), or a directory that keeps none (LDAP). */
export class NoNtHashError extends GatewayError {
  readonly code = 'EG_NO_NT_HASH';
  readonly status = 403;
  constructor(message = 'This account cannot log in with MSCHAPv2 (PEAP): the directory keeps no NT hash for it.') {
    super(message);
  }
}

/** The directory (LDAP server or users file) cannot be reached or answered with an error. */
export class DirectoryUnavailableError extends GatewayError {
  readonly code = 'EG_DIRECTORY_UNAVAILABLE';
  readonly status = 503;
  /** When the next try reaches the directory (BackoffDirectory's wait); unknown otherwise. */
  readonly retryAfterSeconds: number | undefined;
  constructor(message = 'The directory is unavailable, please try again in a minute.', options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  // A page says this much although it is a 5xx: the person must know it is not their password.
  override get expose(): boolean {
    return true;
  }
  /**
   * The message names the LDAP step and server error, for the log; a person gets plain
   * words and one time to try again (the same as the Retry-After header: retryAfter()).
   */
  override get publicMessage(): string {
    const seconds = this.retryAfter();
    const when = seconds < 60 ? `in ${seconds} second${seconds === 1 ? '' : 's'}` : 'in a minute';
    return `We cannot check passwords right now: the sign-in service is not answering. This is a problem on our side, not with your password. Please try again ${when}.`;
  }
  /** Seconds until a new try is worth it: the backoff's wait when there is one, else a minute. */
  retryAfter(): number {
    return this.retryAfterSeconds ?? 60;
  }
}

/** The state store cannot be reached or failed a read or write. */
export class StoreUnavailableError extends GatewayError {
  readonly code = 'EG_STORE_UNAVAILABLE';
  readonly status = 503;
}

/** Input from a user or a router that does not have the expected form. */
export class BadInputError extends GatewayError {
  readonly code = 'EG_BAD_INPUT';
  readonly status = 400;
  /** The input field at fault, as the API names it (`device.os_version`), when there is one. */
  readonly field: string | undefined;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
  override details(): Record<string, unknown> {
    return this.field === undefined ? {} : { field: this.field };
  }
}

/** A request body that is not JSON, or not a JSON object. */
export class BadJsonError extends GatewayError {
  readonly code = 'EG_BAD_JSON';
  readonly status = 400;
  constructor(message = 'The request body is not valid JSON (an object is expected).') {
    super(message);
  }
}

/** A request body over the size the endpoint accepts. */
export class BodyTooLargeError extends GatewayError {
  readonly code = 'EG_BODY_TOO_LARGE';
  readonly status = 413;
}

/** A request body of a media type the endpoint does not take. */
export class UnsupportedMediaTypeError extends GatewayError {
  readonly code = 'EG_UNSUPPORTED_MEDIA_TYPE';
  readonly status = 415;
}

/** An endpoint that takes credentials refuses plain HTTP. */
export class HttpsRequiredError extends GatewayError {
  readonly code = 'EG_HTTPS_REQUIRED';
  readonly status = 403;
}

/** No such endpoint (JSON APIs; the portal's pages answer 404 with a page). */
export class NotFoundError extends GatewayError {
  readonly code = 'EG_NOT_FOUND';
  readonly status = 404;
}

/** The endpoint exists but not for this method. */
export class MethodNotAllowedError extends GatewayError {
  readonly code = 'EG_METHOD_NOT_ALLOWED';
  readonly status = 405;
}

/** The device is not enrolled to the person asking (not enrolled at all, or to somebody else: never told apart). */
export class NotEnrolledError extends GatewayError {
  readonly code = 'EG_NOT_ENROLLED';
  readonly status = 404;
  constructor(message = 'No such device is enrolled to you.') {
    super(message);
  }
}

/** A portal visit that has expired, was never started, or whose form token does not match. */
export class FlowExpiredError extends GatewayError {
  readonly code = 'EG_FLOW_EXPIRED';
  readonly status = 403;
  constructor(message = 'This page has expired. Please start again.') {
    super(message);
  }
}

/** The device is enrolled to somebody else. */
export class DeviceOwnedByOtherError extends GatewayError {
  readonly code = 'EG_DEVICE_OWNED_BY_OTHER';
  readonly status = 403;
  constructor(message = 'This device is enrolled to another person. Ask IT to unenroll it first.') {
    super(message);
  }
}

/** The person has enrolled as many devices as their limit allows (device policy). */
export class DeviceLimitReachedError extends GatewayError {
  readonly code = 'EG_DEVICE_LIMIT';
  readonly status = 409;
  /** The person (as the directory spells them) who is at the limit, when known: the portal shows their devices. */
  user?: string;
  /** The person's devices as an API answer lists them, when the caller has looked them up. */
  devices?: readonly Record<string, unknown>[];
  constructor(
    readonly limit: number,
    message = `You have already enrolled ${limit} device${limit === 1 ? '' : 's'}, your limit. Unenroll one you no longer use to make room.`,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { limit: this.limit, ...(this.devices ? { devices: this.devices } : {}) };
  }
}

/** The device's OS is older than the minimum version the policy allows. */
export class OsTooOldError extends GatewayError {
  readonly code = 'EG_OS_TOO_OLD';
  readonly status = 403;
  constructor(
    readonly needed: string,
    message: string,
    /** What a page words it with (portal/languages/page-text.ts): the platform, and the version the device said, when it said one. */
    readonly facts?: { readonly platform: 'ios' | 'android'; readonly found?: string | undefined },
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { needed: this.needed };
  }
}

/** The device's platform may not enroll (enrollment.platforms), or was not recognised. */
export class PlatformNotAllowedError extends GatewayError {
  readonly code = 'EG_PLATFORM_NOT_ALLOWED';
  readonly status = 403;
  constructor(
    readonly platform: string,
    message: string,
    /** The platforms that may enroll instead, for a page to name in its language. */
    readonly allowed: readonly string[] = [],
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { platform: this.platform };
  }
}

/** The device uses a randomised (locally administered) MAC on this network and the policy refuses those. */
export class RandomisedMacError extends GatewayError {
  readonly code = 'EG_RANDOMISED_MAC';
  readonly status = 403;
  constructor(
    message: string,
    /** The device's platform, whose settings the message names. */
    readonly platform?: string,
  ) {
    super(message);
  }
}

/** The MAC is on the block list (a lost or stolen device). */
export class DeviceBlockedError extends GatewayError {
  readonly code = 'EG_DEVICE_BLOCKED';
  readonly status = 403;
  constructor(message = `This device is blocked from the Wi-Fi. If it is yours and was found again, ask IT to unblock it.`) {
    super(message);
  }
}

/** A one-time download link that was already used, has expired or never existed. */
export class LinkExpiredError extends GatewayError {
  readonly code = 'EG_LINK_EXPIRED';
  readonly status = 410;
  constructor(message = 'This download link has expired or was already used. Go back to the Wi-Fi page and log in again for a new one.') {
    super(message);
  }
}

/** Too many wrong passwords: try again after `retryAfterSeconds`. */
export class TooManyAttemptsError extends GatewayError {
  readonly code = 'EG_TOO_MANY_ATTEMPTS';
  readonly status = 429;
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many wrong passwords. Try again in ${humanWait(retryAfterSeconds)}.`);
  }
  override details(): Record<string, unknown> {
    return { retry_after: this.retryAfterSeconds };
  }
}

function humanWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
