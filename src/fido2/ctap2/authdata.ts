/**
 * Authenticator data (WebAuthn §6.1): `rpIdHash[32] | flags | signCount[4] | attestedCredentialData? |
 * extensions?`. The credential public key's length is only known by decoding it, so the CBOR scanner
 * reports where it ends.
 */
import { protocolError } from '../errors.ts';
import { formatAaguid } from '../util.ts';
import { type CborMap, decodeCbor, decodeCborPrefix } from './cbor.ts';

export const AUTHDATA_FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export interface AttestedCredentialData {
  aaguid: Uint8Array;
  /** The AAGUID as 8-4-4-4-12 text. */
  aaguidText: string;
  credentialId: Uint8Array;
  /** The COSE key exactly as the authenticator encoded it. */
  publicKey: Uint8Array;
  publicKeyMap: CborMap;
}

export interface AuthenticatorData {
  rpIdHash: Uint8Array;
  flags: number;
  userPresent: boolean;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  signCount: number;
  attestedCredentialData?: AttestedCredentialData;
  /** Extension outputs, keyed by identifier (e.g. `hmac-secret`). */
  extensions?: Map<string, unknown>;
  raw: Uint8Array;
}

export function parseAuthenticatorData(raw: Uint8Array): AuthenticatorData {
  if (!(raw instanceof Uint8Array)) throw protocolError('authenticator data that is not a byte string');
  if (raw.length < 37) throw protocolError(`authenticator data of ${raw.length} bytes (at least 37 expected)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const flags = raw[32] as number;
  const data: AuthenticatorData = {
    rpIdHash: raw.slice(0, 32),
    flags,
    userPresent: (flags & AUTHDATA_FLAGS.UP) !== 0,
    userVerified: (flags & AUTHDATA_FLAGS.UV) !== 0,
    backupEligible: (flags & AUTHDATA_FLAGS.BE) !== 0,
    backedUp: (flags & AUTHDATA_FLAGS.BS) !== 0,
    signCount: view.getUint32(33),
    raw,
  };
  let offset = 37;
  if (flags & AUTHDATA_FLAGS.AT) {
    if (raw.length < offset + 18) throw protocolError('attested credential data cut short');
    const aaguid = raw.slice(offset, offset + 16);
    const idLength = view.getUint16(offset + 16);
    offset += 18;
    if (idLength === 0 || raw.length < offset + idLength) throw protocolError('a credential id cut short');
    const credentialId = raw.slice(offset, offset + idLength);
    offset += idLength;
    const { value, end } = decodeCborPrefix(raw, offset, 'credential public key');
    if (!(value instanceof Map)) throw protocolError('a credential public key that is not a COSE map');
    data.attestedCredentialData = {
      aaguid,
      aaguidText: formatAaguid(aaguid),
      credentialId,
      publicKey: raw.slice(offset, end),
      publicKeyMap: value,
    };
    offset = end;
  }
  if (flags & AUTHDATA_FLAGS.ED) {
    const value = decodeCbor(raw.subarray(offset), 'authenticator-data extensions');
    if (!(value instanceof Map) || [...value.keys()].some((k) => typeof k !== 'string')) {
      throw protocolError('authenticator-data extensions that are not a map of names');
    }
    data.extensions = value as Map<string, unknown>;
    offset = raw.length;
  }
  if (offset !== raw.length) throw protocolError(`${raw.length - offset} unexplained bytes after the authenticator data`);
  return data;
}
