/**
 * A minimal DER writer and a self-signed ECDSA P-256 X.509 v3 certificate: the U2F attestation
 * certificate of the virtual authenticator (U2F REGISTER must return one).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { newKeyPair } from '../signing-keys.ts';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const printable = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'ascii'));

function utcTime(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function name(attrs: Array<[string, Buffer]>): Buffer {
  return seq(...attrs.map(([o, v]) => set(seq(oid(o), v))));
}

export interface AttestationIdentity {
  privateKey: KeyObject;
  certificateDer: Buffer;
}

/** A fresh P-256 key and a self-signed certificate for it, shaped like a FIDO attestation certificate. */
export function makeAttestationIdentity(commonName: string): AttestationIdentity {
  const { privateKey, publicKey } = newKeyPair('ES256');
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const subject = name([
    ['2.5.4.6', printable('SE')],
    ['2.5.4.10', utf8String('tng sandbox')],
    ['2.5.4.11', utf8String('Authenticator Attestation')],
    ['2.5.4.3', utf8String(commonName)],
  ]);
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // version v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    ecdsaWithSha256,
    subject,
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 10 * 365 * 86_400_000))),
    subject,
    publicKey.export({ format: 'der', type: 'spki' }),
    tlv(0xa3, seq(seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq())))), // basicConstraints critical, CA:FALSE
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificateDer = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.from([0]), signature));
  return { privateKey, certificateDer };
}
