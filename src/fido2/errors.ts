import { TngError } from '../errors.ts';

/**
 * Error helpers shared by every FIDO2 layer. Authenticator failures are kind 'authenticator' (exit 5),
 * an AbortSignal that fired is kind 'interrupted' (exit 130). Each keeps the original error as `cause`.
 */

const HINTS: Record<string, string> = {
  'fido2.none-found': 'Insert your security key (or set TNG_FIDO2_DEVICE) and try again.',
  'fido2.touch-timeout': 'Touch the key when it blinks; run the command again.',
  'fido2.timeout': 'Remove and reinsert the key, then try again.',
  'fido2.denied': 'The key refused the request; run the command again and confirm on the key.',
  'fido2.cancelled': 'Another program cancelled the request; run the command again.',
  'fido2.pin-invalid': 'Run the command again with the right PIN.',
  'fido2.pin-blocked': 'Reset the key (this deletes its credentials), set a new PIN, then run `tng enroll` again.',
  'fido2.pin-auth-blocked': 'Remove and reinsert the key, then try again.',
  'fido2.pin-not-set': 'Set a PIN on the key first (e.g. `ykman fido access change-pin`).',
  'fido2.pin-required': 'This key demands its PIN: enrol it again with `tng enroll --uv required`.',
  'fido2.pin-policy': 'Choose a PIN the key accepts (at least 4 characters, at most 63 bytes).',
  'fido2.pin-auth-invalid': 'Run the command again.',
  'fido2.uv-blocked': 'Built-in user verification is blocked; use the PIN or reinsert the key.',
  'fido2.uv-invalid': 'Try again with an enrolled finger.',
  'fido2.no-credential': 'This key is not enrolled for this profile; use an enrolled key or run `tng enroll --add`.',
  'fido2.already-enrolled': 'This key already holds a credential for this profile; use a different key.',
  'fido2.key-store-full': 'Delete unused credentials from the key and try again.',
  'fido2.not-supported': 'Use a FIDO2 key that supports this operation (e.g. a YubiKey 5).',
  'fido2.not-permitted': 'Run the command again; if it persists, reinsert the key.',
  'fido2.unplugged': 'Reinsert the key and run the command again.',
  'fido2.u2f-only': 'This key speaks only U2F: use a FIDO2 key with hmac-secret (e.g. a YubiKey 5).',
  'fido2.no-hmac-secret': 'Use a FIDO2 key with the hmac-secret extension (e.g. a YubiKey 5).',
  'fido2.protocol': 'Reinsert the key and try again; if it persists, the key is not compatible with tng.',
  'fido2.busy': 'Another program (a browser?) is using the key; close it and try again.',
  'fido2.request-too-large': 'Too many enrolled credentials for this key; this is a bug in tng if it persists.',
  'fido2.open-failed':
    'Check permissions: on Linux a udev rule must give you access to /dev/hidraw* (see the tng README); on Windows run as Administrator.',
  'fido2.hid-unavailable': 'Install the USB HID libraries (Debian/Ubuntu: `sudo apt-get install libusb-1.0-0 libudev1`).',
  'fido2.ctap-error': 'Reinsert the key and try again.',
};

export function hintFor(code: string): string {
  return HINTS[code] ?? 'Reinsert the key and try again.';
}

/** An authenticator failure (exit 5). */
export function fidoError(code: string, message: string, cause?: unknown, hint?: string): TngError {
  return new TngError('authenticator', code, message, { hint: hint ?? hintFor(code), cause });
}

/** A malformed answer from the authenticator. */
export function protocolError(message: string, cause?: unknown): TngError {
  return fidoError('fido2.protocol', `The authenticator sent a malformed answer: ${message}.`, cause);
}

/** The caller's AbortSignal fired while tng was waiting for the authenticator (exit 130). */
export function interruptedError(cause?: unknown): TngError {
  return new TngError('interrupted', 'fido2.interrupted', 'Interrupted while waiting for the security key.', {
    hint: 'Run the command again when ready.',
    cause,
  });
}

export function unpluggedError(deviceName: string, cause?: unknown): TngError {
  return fidoError('fido2.unplugged', `The authenticator was unplugged (${deviceName}).`, cause);
}

/** A programming error inside tng (exit 1), e.g. a salt of the wrong size. */
export function internalError(code: string, message: string): TngError {
  return new TngError('internal', code, message, { hint: 'This is a bug in tng; please report it.' });
}
