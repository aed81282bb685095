/**
 * Errors as typed values: each carries an HTTP status, a stable code and
 * whether its message may be shown to the caller. The HTTP error middleware
 * (functions/shared/http.ts) turns them into responses; anything else becomes
 * a generic 500 that reveals nothing.
 */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly options: {
      /** Whether `message` may be sent to the caller (default: true for 4xx). */
      readonly expose?: boolean;
      readonly headers?: Readonly<Record<string, string>>;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  get expose(): boolean {
    return this.options.expose ?? this.statusCode < 500;
  }

  get headers(): Readonly<Record<string, string>> {
    return this.options.headers ?? {};
  }

  /** The JSON body of the response. Subclasses override for protocol-specific shapes. */
  toBody(): unknown {
    return {
      error: {
        status: this.statusCode,
        code: this.code,
        message: this.expose ? this.message : 'Internal error',
      },
    };
  }
}

export class BadRequestError extends AppError {
  override readonly name = 'BadRequestError';
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  constructor(message = 'Not found') {
    super(404, 'not_found', message);
  }
}

export class MethodNotAllowedError extends AppError {
  override readonly name = 'MethodNotAllowedError';
  constructor(allowed: readonly string[]) {
    super(405, 'method_not_allowed', `Method not allowed; use ${allowed.join(', ')}`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(expected: string) {
    super(415, 'unsupported_media_type', `Content-Type must be ${expected}`);
  }
}

export class PayloadTooLargeError extends AppError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, 'payload_too_large', `Request body larger than ${limit} bytes`);
  }
}

export class NotImplementedError extends AppError {
  override readonly name = 'NotImplementedError';
  constructor(what: string) {
    super(501, 'not_implemented', `${what} is not available in this version`, { expose: true });
  }
}

/** Configuration is invalid: raised at cold start, names the offending setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** RFC 6749 §4.1.2.1 and §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`). */
export const OAUTH_DESCRIPTION_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

/** The description an OAuth error answer carries: `description` if it is inside RFC 6749's set, else `fallback`. */
export const oauthDescription = (description: unknown, fallback = 'The request is invalid'): string =>
  typeof description === 'string' && description !== '' && OAUTH_DESCRIPTION_CHARSET.test(description)
    ? description
    : fallback;
