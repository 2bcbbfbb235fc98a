/**
 * CTAP2 status codes (CTAP 2.1 §8.2) and their translation into tng errors. Like python-fido2, the
 * ~50 codes collapse into a handful of client-level meanings; the raw status stays on the error.
 */
import { TngError } from '../../errors.ts';
import { hintFor } from '../errors.ts';

export const CTAP2_STATUS = {
  SUCCESS: 0x00,
  INVALID_COMMAND: 0x01,
  INVALID_PARAMETER: 0x02,
  INVALID_LENGTH: 0x03,
  INVALID_SEQ: 0x04,
  TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  LOCK_REQUIRED: 0x0a,
  INVALID_CHANNEL: 0x0b,
  CBOR_UNEXPECTED_TYPE: 0x11,
  INVALID_CBOR: 0x12,
  MISSING_PARAMETER: 0x14,
  LIMIT_EXCEEDED: 0x15,
  UNSUPPORTED_EXTENSION: 0x16,
  FP_DATABASE_FULL: 0x17,
  LARGE_BLOB_STORAGE_FULL: 0x18,
  CREDENTIAL_EXCLUDED: 0x19,
  PROCESSING: 0x21,
  INVALID_CREDENTIAL: 0x22,
  USER_ACTION_PENDING: 0x23,
  OPERATION_PENDING: 0x24,
  NO_OPERATIONS: 0x25,
  UNSUPPORTED_ALGORITHM: 0x26,
  OPERATION_DENIED: 0x27,
  KEY_STORE_FULL: 0x28,
  NOT_BUSY: 0x29,
  NO_OPERATION_PENDING: 0x2a,
  UNSUPPORTED_OPTION: 0x2b,
  INVALID_OPTION: 0x2c,
  KEEPALIVE_CANCEL: 0x2d,
  NO_CREDENTIALS: 0x2e,
  USER_ACTION_TIMEOUT: 0x2f,
  NOT_ALLOWED: 0x30,
  PIN_INVALID: 0x31,
  PIN_BLOCKED: 0x32,
  PIN_AUTH_INVALID: 0x33,
  PIN_AUTH_BLOCKED: 0x34,
  PIN_NOT_SET: 0x35,
  PUAT_REQUIRED: 0x36,
  PIN_POLICY_VIOLATION: 0x37,
  PIN_TOKEN_EXPIRED: 0x38,
  REQUEST_TOO_LARGE: 0x39,
  ACTION_TIMEOUT: 0x3a,
  UP_REQUIRED: 0x3b,
  UV_BLOCKED: 0x3c,
  INTEGRITY_FAILURE: 0x3d,
  INVALID_SUBCOMMAND: 0x3e,
  UV_INVALID: 0x3f,
  UNAUTHORIZED_PERMISSION: 0x40,
  OTHER: 0x7f,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(CTAP2_STATUS).map(([name, value]) => [value, name]));

export function statusName(status: number): string {
  if (NAMES[status]) return NAMES[status];
  const hex = `0x${status.toString(16).padStart(2, '0')}`;
  if (status >= 0xe0 && status <= 0xef) return `EXTENSION_${hex}`;
  if (status >= 0xf0) return `VENDOR_${hex}`;
  return `UNKNOWN_${hex}`;
}

interface Meaning {
  code: string;
  message: string;
}

const S = CTAP2_STATUS;

function meaning(status: number): Meaning {
  switch (status) {
    case S.OPERATION_DENIED:
      return { code: 'fido2.denied', message: 'The security key denied the request.' };
    case S.KEEPALIVE_CANCEL:
      return { code: 'fido2.cancelled', message: 'The request to the security key was cancelled.' };
    case S.USER_ACTION_TIMEOUT:
    case S.ACTION_TIMEOUT:
      return { code: 'fido2.touch-timeout', message: 'The security key was not touched in time.' };
    case S.PIN_INVALID:
      return { code: 'fido2.pin-invalid', message: 'Wrong PIN.' };
    case S.PIN_BLOCKED:
      return { code: 'fido2.pin-blocked', message: 'The PIN of the security key is blocked (no retries left).' };
    case S.PIN_AUTH_BLOCKED:
      return { code: 'fido2.pin-auth-blocked', message: 'Too many wrong PINs in a row: remove and reinsert the key.' };
    case S.PIN_NOT_SET:
      return { code: 'fido2.pin-not-set', message: 'The security key has no PIN set.' };
    case S.PUAT_REQUIRED:
      return { code: 'fido2.pin-required', message: 'The security key requires its PIN for this.' };
    case S.PIN_POLICY_VIOLATION:
      return { code: 'fido2.pin-policy', message: 'The security key rejected the PIN (too short or too long).' };
    case S.PIN_AUTH_INVALID:
    case S.PIN_TOKEN_EXPIRED:
      return { code: 'fido2.pin-auth-invalid', message: 'The security key rejected the PIN token.' };
    case S.UV_BLOCKED:
      return { code: 'fido2.uv-blocked', message: 'Built-in user verification of the security key is blocked.' };
    case S.UV_INVALID:
      return { code: 'fido2.uv-invalid', message: 'User verification failed (finger not recognised).' };
    case S.NO_CREDENTIALS:
    case S.INVALID_CREDENTIAL:
      return { code: 'fido2.no-credential', message: 'This key is not enrolled: it holds none of the expected credentials.' };
    case S.CREDENTIAL_EXCLUDED:
      return { code: 'fido2.already-enrolled', message: 'This key is already enrolled.' };
    case S.KEY_STORE_FULL:
    case S.FP_DATABASE_FULL:
    case S.LARGE_BLOB_STORAGE_FULL:
      return { code: 'fido2.key-store-full', message: 'The security key has no room left.' };
    case S.INVALID_COMMAND:
    case S.UNSUPPORTED_ALGORITHM:
    case S.UNSUPPORTED_OPTION:
    case S.UNSUPPORTED_EXTENSION:
    case S.INVALID_SUBCOMMAND:
    case S.UP_REQUIRED:
      return { code: 'fido2.not-supported', message: 'The security key does not support this request.' };
    case S.UNAUTHORIZED_PERMISSION:
    case S.NOT_ALLOWED:
      return { code: 'fido2.not-permitted', message: 'The security key does not permit this request now.' };
    case S.CHANNEL_BUSY:
      return { code: 'fido2.busy', message: 'The security key is busy with another program.' };
    case S.REQUEST_TOO_LARGE:
    case S.LIMIT_EXCEEDED:
      return { code: 'fido2.request-too-large', message: 'The request is too large for the security key.' };
    case S.TIMEOUT:
      return { code: 'fido2.timeout', message: 'The security key timed out.' };
    case S.INVALID_PARAMETER:
    case S.INVALID_LENGTH:
    case S.INVALID_SEQ:
    case S.CBOR_UNEXPECTED_TYPE:
    case S.INVALID_CBOR:
    case S.MISSING_PARAMETER:
    case S.INVALID_OPTION:
    case S.INVALID_CHANNEL:
    case S.INTEGRITY_FAILURE:
      return { code: 'fido2.protocol', message: `The security key rejected tng's request (${statusName(status)}).` };
    default:
      return { code: 'fido2.ctap-error', message: `The security key reported an error (${statusName(status)}).` };
  }
}

/** A CTAP2 error status from the authenticator, as a TngError (exit 5) that keeps the raw status. */
export class CtapError extends TngError {
  /** The raw CTAP2 status byte, e.g. 0x31. */
  readonly status: number;
  /** Its spec name, e.g. `PIN_INVALID`. */
  readonly statusName: string;

  constructor(status: number, cause?: unknown) {
    const m = meaning(status);
    super('authenticator', m.code, m.message, { hint: hintFor(m.code), cause });
    this.status = status;
    this.statusName = statusName(status);
  }
}

export function isCtapError(error: unknown, status?: number): error is CtapError {
  return error instanceof CtapError && (status === undefined || error.status === status);
}
