/**
 * tng's one error type. Every failure a user can meet is a TngError with a stable `code`, a one-line
 * `message` (what failed) and a one-line `hint` (what to do); the exit code follows from the kind.
 * Lower layers throw these (or translate foreign errors into them, keeping the original as `cause`);
 * only src/main.ts prints them and turns them into an exit status.
 */

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  noSession: 3,
  denied: 4,
  authenticator: 5,
  unavailable: 6,
  keychain: 7,
  verification: 8,
  interrupted: 130,
} as const;

export type ErrorKind = Exclude<keyof typeof ExitCode, 'ok'>;

export interface TngErrorOptions {
  hint: string;
  cause?: unknown;
}

/**
 * Marks every TngError. The executable's hot-path bundle and the full program are built separately, so
 * each has its own copy of this class; the mark lets `instanceof TngError` hold for an error made by either.
 */
const BRAND = Symbol.for('tng.error');

export class TngError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses (CtapError, …) keep the ordinary prototype check.
    if (this !== TngError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  override readonly name = 'TngError';
  readonly hint: string;

  constructor(
    readonly kind: ErrorKind,
    /** Stable machine-readable identifier, e.g. `vault.sealed`. */
    readonly code: string,
    message: string,
    options: TngErrorOptions,
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}
Object.defineProperty(TngError.prototype, BRAND, { value: true });

export function isTngError(error: unknown, kind?: ErrorKind): error is TngError {
  return error instanceof TngError && (kind === undefined || error.kind === kind);
}

/** A usage or configuration error (exit 2). */
export function usageError(code: string, message: string, hint: string, cause?: unknown): TngError {
  return new TngError('usage', code, message, { hint, cause });
}

/** A flag given an empty value (`--role ''`, `--role=`), which would otherwise read as the flag left out (exit 2). */
export function refuseEmptyFlags(flags: Record<string, string | undefined>): void {
  for (const [flag, value] of Object.entries(flags)) {
    if (value !== undefined && value.trim() === '') {
      throw usageError('flags.empty', `${flag} was given an empty value.`, `Pass ${flag} with a value, or leave ${flag} out to use the profile's setting.`);
    }
  }
}

/** No session, and none can be made without a person (exit 3). */
export function noSessionError(message: string, cause?: unknown): TngError {
  return new TngError('noSession', 'session.missing', message, {
    hint: 'Run `tng login` (with the same --profile) to start a session.',
    cause,
  });
}

/** Ctrl-C (or SIGTERM, SIGHUP) stopped a login (exit 130). */
export function loginInterrupted(): TngError {
  return new TngError('interrupted', 'login.interrupted', 'Login interrupted.', { hint: 'Run `tng login` again when ready.' });
}

/** The message of any thrown value, for errors that wrap a foreign one. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
