/**
 * CTAP2 commands over any CBOR transport (CTAPHID_CBOR): request = `cmdByte || canonicalCBOR(params)`,
 * response = `status || CBOR map`. Requests and responses are typed; every response field is checked.
 */
import { protocolError } from '../errors.ts';
import { formatAaguid } from '../util.ts';
import { type AuthenticatorData, parseAuthenticatorData } from './authdata.ts';
import { type CborMap, decodeCbor, encodeCbor } from './cbor.ts';
import { CTAP2_STATUS, CtapError } from './status.ts';

export interface CborCallOptions {
  signal?: AbortSignal;
  onKeepalive?: (status: number) => void;
  timeoutMs?: number;
}

/** What the CTAP2 layer needs from below: one CTAPHID_CBOR exchange. */
export interface CborTransport {
  cbor(request: Uint8Array, options?: CborCallOptions): Promise<Uint8Array>;
}

export const CTAP2_CMD = {
  MAKE_CREDENTIAL: 0x01,
  GET_ASSERTION: 0x02,
  GET_INFO: 0x04,
  CLIENT_PIN: 0x06,
  RESET: 0x07,
  GET_NEXT_ASSERTION: 0x08,
  SELECTION: 0x0b,
} as const;

// ---------------------------------------------------------------------------------------------- fields

type Check<T> = (value: unknown) => value is T;
const isBytes: Check<Uint8Array> = (v): v is Uint8Array => v instanceof Uint8Array;
const isString: Check<string> = (v): v is string => typeof v === 'string';
const isInt: Check<number> = (v): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isUint: Check<number> = (v): v is number => isInt(v) && v >= 0;
const isBool: Check<boolean> = (v): v is boolean => typeof v === 'boolean';
const isMap: Check<CborMap> = (v): v is CborMap => v instanceof Map;
const arrayOf =
  <T>(check: Check<T>): Check<T[]> =>
  (v): v is T[] =>
    Array.isArray(v) && v.every(check);

function opt<T>(map: CborMap, key: number | string, check: Check<T>, what: string): T | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (!check(value)) throw protocolError(`${what} has the wrong type`);
  return value;
}

function req<T>(map: CborMap, key: number | string, check: Check<T>, what: string): T {
  const value = opt(map, key, check, what);
  if (value === undefined) throw protocolError(`${what} is missing`);
  return value;
}

/** Sends one CTAP2 command and returns the decoded response map (empty when the body is empty). */
export async function sendCbor(
  transport: CborTransport,
  command: number,
  params: CborMap | undefined,
  options: CborCallOptions = {},
): Promise<CborMap> {
  const body = params === undefined ? new Uint8Array(0) : encodeCbor(params);
  const request = new Uint8Array(1 + body.length);
  request[0] = command;
  request.set(body, 1);
  const response = await transport.cbor(request, options);
  return parseCborResponse(response);
}

/** `status || map` → the map, or a CtapError for a non-zero status. */
export function parseCborResponse(response: Uint8Array): CborMap {
  if (!(response instanceof Uint8Array) || response.length === 0) throw protocolError('an empty CTAP2 response');
  const status = response[0] as number;
  if (status !== CTAP2_STATUS.SUCCESS) throw new CtapError(status);
  if (response.length === 1) return new Map();
  const value = decodeCbor(response.subarray(1), 'CTAP2 response');
  if (!(value instanceof Map)) throw protocolError('a CTAP2 response that is not a map');
  for (const key of value.keys()) {
    if (!isUint(key)) throw protocolError('a CTAP2 response map with a non-integer key');
  }
  return value;
}

// ----------------------------------------------------------------------------------------- getInfo

export interface PublicKeyCredentialParameters {
  alg: number;
  type: string;
}

export interface AuthenticatorInfo {
  versions: string[];
  extensions: string[];
  aaguid: Uint8Array;
  aaguidText: string;
  options: Readonly<Record<string, boolean>>;
  /** 0x05; 1024 when absent (the spec's default). */
  maxMsgSize: number;
  pinUvAuthProtocols: number[];
  maxCredentialCountInList?: number;
  maxCredentialIdLength?: number;
  transports?: string[];
  algorithms?: PublicKeyCredentialParameters[];
  forcePinChange?: boolean;
  minPinLength?: number;
  firmwareVersion?: number;
  /** The whole decoded map, for fields not modelled here. */
  raw: CborMap;
}

export function parseInfo(map: CborMap): AuthenticatorInfo {
  const versions = req(map, 0x01, arrayOf(isString), 'getInfo versions');
  const aaguid = req(map, 0x03, isBytes, 'getInfo aaguid');
  if (aaguid.length !== 16) throw protocolError('a getInfo aaguid that is not 16 bytes');
  const optionsMap = opt(map, 0x04, isMap, 'getInfo options') ?? new Map();
  const options: Record<string, boolean> = {};
  for (const [key, value] of optionsMap) {
    if (!isString(key) || !isBool(value)) throw protocolError('getInfo options that are not name → boolean');
    Object.defineProperty(options, key, { value, enumerable: true });
  }
  const algorithms = opt(map, 0x0a, arrayOf(isMap), 'getInfo algorithms')?.map((m) => ({
    alg: req(m, 'alg', isInt, 'getInfo algorithm alg'),
    type: req(m, 'type', isString, 'getInfo algorithm type'),
  }));
  const info: AuthenticatorInfo = {
    versions,
    extensions: opt(map, 0x02, arrayOf(isString), 'getInfo extensions') ?? [],
    aaguid,
    aaguidText: formatAaguid(aaguid),
    options: Object.freeze(options),
    maxMsgSize: opt(map, 0x05, isUint, 'getInfo maxMsgSize') ?? 1024,
    pinUvAuthProtocols: opt(map, 0x06, arrayOf(isUint), 'getInfo pinUvAuthProtocols') ?? [],
    raw: map,
  };
  const maxCount = opt(map, 0x07, isUint, 'getInfo maxCredentialCountInList');
  if (maxCount !== undefined) info.maxCredentialCountInList = maxCount;
  const maxIdLength = opt(map, 0x08, isUint, 'getInfo maxCredentialIdLength');
  if (maxIdLength !== undefined) info.maxCredentialIdLength = maxIdLength;
  const transports = opt(map, 0x09, arrayOf(isString), 'getInfo transports');
  if (transports !== undefined) info.transports = transports;
  if (algorithms !== undefined) info.algorithms = algorithms;
  const forcePinChange = opt(map, 0x0c, isBool, 'getInfo forcePINChange');
  if (forcePinChange !== undefined) info.forcePinChange = forcePinChange;
  const minPinLength = opt(map, 0x0d, isUint, 'getInfo minPINLength');
  if (minPinLength !== undefined) info.minPinLength = minPinLength;
  const firmwareVersion = opt(map, 0x0e, isUint, 'getInfo firmwareVersion');
  if (firmwareVersion !== undefined) info.firmwareVersion = firmwareVersion;
  return info;
}

export async function getInfo(transport: CborTransport, options: CborCallOptions = {}): Promise<AuthenticatorInfo> {
  return parseInfo(await sendCbor(transport, CTAP2_CMD.GET_INFO, undefined, options));
}

// --------------------------------------------------------------------------------- makeCredential

export interface PublicKeyCredentialDescriptor {
  id: Uint8Array;
  type: string;
}

export interface MakeCredentialRequest {
  clientDataHash: Uint8Array;
  rp: { id: string; name?: string };
  user: { id: Uint8Array; name?: string; displayName?: string };
  pubKeyCredParams: PublicKeyCredentialParameters[];
  excludeList?: PublicKeyCredentialDescriptor[];
  /** Extension inputs by identifier, e.g. `{ 'hmac-secret': true }`. */
  extensions?: Record<string, unknown>;
  options?: { rk?: boolean; up?: boolean; uv?: boolean };
  pinUvAuthParam?: Uint8Array;
  pinUvAuthProtocol?: number;
  enterpriseAttestation?: number;
}

export interface MakeCredentialResponse {
  fmt: string;
  authData: Uint8Array;
  parsedAuthData: AuthenticatorData;
  attStmt: CborMap;
  epAtt?: boolean;
  largeBlobKey?: Uint8Array;
}

function descriptor(d: PublicKeyCredentialDescriptor): Record<string, unknown> {
  return { id: d.id, type: d.type };
}

export function encodeMakeCredential(r: MakeCredentialRequest): CborMap {
  const params = new Map<number, unknown>();
  params.set(0x01, r.clientDataHash);
  params.set(0x02, { id: r.rp.id, name: r.rp.name });
  params.set(0x03, { id: r.user.id, name: r.user.name, displayName: r.user.displayName });
  params.set(0x04, r.pubKeyCredParams.map((p) => ({ alg: p.alg, type: p.type })));
  if (r.excludeList?.length) params.set(0x05, r.excludeList.map(descriptor));
  if (r.extensions && Object.keys(r.extensions).length) params.set(0x06, r.extensions);
  if (r.options && Object.values(r.options).some((v) => v !== undefined)) params.set(0x07, r.options);
  if (r.pinUvAuthParam !== undefined) params.set(0x08, r.pinUvAuthParam);
  if (r.pinUvAuthProtocol !== undefined) params.set(0x09, r.pinUvAuthProtocol);
  if (r.enterpriseAttestation !== undefined) params.set(0x0a, r.enterpriseAttestation);
  return params;
}

export function parseMakeCredentialResponse(map: CborMap): MakeCredentialResponse {
  const authData = req(map, 0x02, isBytes, 'makeCredential authData');
  const response: MakeCredentialResponse = {
    fmt: req(map, 0x01, isString, 'makeCredential fmt'),
    authData,
    parsedAuthData: parseAuthenticatorData(authData),
    attStmt: req(map, 0x03, isMap, 'makeCredential attStmt'),
  };
  const epAtt = opt(map, 0x04, isBool, 'makeCredential epAtt');
  if (epAtt !== undefined) response.epAtt = epAtt;
  const largeBlobKey = opt(map, 0x05, isBytes, 'makeCredential largeBlobKey');
  if (largeBlobKey !== undefined) response.largeBlobKey = largeBlobKey;
  if (!response.parsedAuthData.attestedCredentialData) throw protocolError('makeCredential authData without a credential');
  return response;
}

export async function makeCredential(
  transport: CborTransport,
  request: MakeCredentialRequest,
  options: CborCallOptions = {},
): Promise<MakeCredentialResponse> {
  const map = await sendCbor(transport, CTAP2_CMD.MAKE_CREDENTIAL, encodeMakeCredential(request), options);
  return parseMakeCredentialResponse(map);
}

// ----------------------------------------------------------------------------------- getAssertion

export interface GetAssertionRequest {
  rpId: string;
  clientDataHash: Uint8Array;
  allowList?: PublicKeyCredentialDescriptor[];
  extensions?: Record<string, unknown>;
  options?: { up?: boolean; uv?: boolean };
  pinUvAuthParam?: Uint8Array;
  pinUvAuthProtocol?: number;
}

export interface GetAssertionResponse {
  credential: PublicKeyCredentialDescriptor;
  authData: Uint8Array;
  parsedAuthData: AuthenticatorData;
  signature: Uint8Array;
  user?: CborMap;
  numberOfCredentials?: number;
  userSelected?: boolean;
  largeBlobKey?: Uint8Array;
}

export function encodeGetAssertion(r: GetAssertionRequest): CborMap {
  const params = new Map<number, unknown>();
  params.set(0x01, r.rpId);
  params.set(0x02, r.clientDataHash);
  if (r.allowList?.length) params.set(0x03, r.allowList.map(descriptor));
  if (r.extensions && Object.keys(r.extensions).length) params.set(0x04, r.extensions);
  if (r.options && Object.values(r.options).some((v) => v !== undefined)) params.set(0x05, r.options);
  if (r.pinUvAuthParam !== undefined) params.set(0x06, r.pinUvAuthParam);
  if (r.pinUvAuthProtocol !== undefined) params.set(0x07, r.pinUvAuthProtocol);
  return params;
}

/**
 * The credential (0x01) may be omitted when the allowList had exactly one entry; pass that list so the
 * id can be filled in.
 */
export function parseGetAssertionResponse(map: CborMap, allowList?: PublicKeyCredentialDescriptor[]): GetAssertionResponse {
  const credentialMap = opt(map, 0x01, isMap, 'getAssertion credential');
  let credential: PublicKeyCredentialDescriptor;
  if (credentialMap) {
    credential = {
      id: req(credentialMap, 'id', isBytes, 'getAssertion credential id'),
      type: req(credentialMap, 'type', isString, 'getAssertion credential type'),
    };
  } else if (allowList?.length === 1) {
    credential = allowList[0] as PublicKeyCredentialDescriptor;
  } else {
    throw protocolError('getAssertion credential is missing');
  }
  const authData = req(map, 0x02, isBytes, 'getAssertion authData');
  const response: GetAssertionResponse = {
    credential,
    authData,
    parsedAuthData: parseAuthenticatorData(authData),
    signature: req(map, 0x03, isBytes, 'getAssertion signature'),
  };
  const user = opt(map, 0x04, isMap, 'getAssertion user');
  if (user !== undefined) response.user = user;
  const count = opt(map, 0x05, isUint, 'getAssertion numberOfCredentials');
  if (count !== undefined) response.numberOfCredentials = count;
  const userSelected = opt(map, 0x06, isBool, 'getAssertion userSelected');
  if (userSelected !== undefined) response.userSelected = userSelected;
  const largeBlobKey = opt(map, 0x07, isBytes, 'getAssertion largeBlobKey');
  if (largeBlobKey !== undefined) response.largeBlobKey = largeBlobKey;
  return response;
}

export async function getAssertion(
  transport: CborTransport,
  request: GetAssertionRequest,
  options: CborCallOptions = {},
): Promise<GetAssertionResponse> {
  const map = await sendCbor(transport, CTAP2_CMD.GET_ASSERTION, encodeGetAssertion(request), options);
  return parseGetAssertionResponse(map, request.allowList);
}

export async function getNextAssertion(transport: CborTransport, options: CborCallOptions = {}): Promise<GetAssertionResponse> {
  return parseGetAssertionResponse(await sendCbor(transport, CTAP2_CMD.GET_NEXT_ASSERTION, undefined, options));
}

// -------------------------------------------------------------------------------------- clientPIN

export const CLIENT_PIN_SUB = {
  GET_PIN_RETRIES: 0x01,
  GET_KEY_AGREEMENT: 0x02,
  SET_PIN: 0x03,
  CHANGE_PIN: 0x04,
  GET_PIN_TOKEN: 0x05,
  GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS: 0x06,
  GET_UV_RETRIES: 0x07,
  GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS: 0x09,
} as const;

export interface ClientPinRequest {
  pinUvAuthProtocol?: number;
  subCommand: number;
  keyAgreement?: CborMap;
  pinUvAuthParam?: Uint8Array;
  newPinEnc?: Uint8Array;
  pinHashEnc?: Uint8Array;
  permissions?: number;
  rpId?: string;
}

export interface ClientPinResponse {
  keyAgreement?: CborMap;
  pinUvAuthToken?: Uint8Array;
  pinRetries?: number;
  powerCycleState?: boolean;
  uvRetries?: number;
}

export function encodeClientPin(r: ClientPinRequest): CborMap {
  const params = new Map<number, unknown>();
  if (r.pinUvAuthProtocol !== undefined) params.set(0x01, r.pinUvAuthProtocol);
  params.set(0x02, r.subCommand);
  if (r.keyAgreement !== undefined) params.set(0x03, r.keyAgreement);
  if (r.pinUvAuthParam !== undefined) params.set(0x04, r.pinUvAuthParam);
  if (r.newPinEnc !== undefined) params.set(0x05, r.newPinEnc);
  if (r.pinHashEnc !== undefined) params.set(0x06, r.pinHashEnc);
  if (r.permissions !== undefined) params.set(0x09, r.permissions);
  if (r.rpId !== undefined) params.set(0x0a, r.rpId);
  return params;
}

export function parseClientPinResponse(map: CborMap): ClientPinResponse {
  const response: ClientPinResponse = {};
  const keyAgreement = opt(map, 0x01, isMap, 'clientPIN keyAgreement');
  if (keyAgreement !== undefined) response.keyAgreement = keyAgreement;
  const token = opt(map, 0x02, isBytes, 'clientPIN pinUvAuthToken');
  if (token !== undefined) response.pinUvAuthToken = token;
  const retries = opt(map, 0x03, isUint, 'clientPIN pinRetries');
  if (retries !== undefined) response.pinRetries = retries;
  const powerCycle = opt(map, 0x04, isBool, 'clientPIN powerCycleState');
  if (powerCycle !== undefined) response.powerCycleState = powerCycle;
  const uvRetries = opt(map, 0x05, isUint, 'clientPIN uvRetries');
  if (uvRetries !== undefined) response.uvRetries = uvRetries;
  return response;
}

export async function clientPin(
  transport: CborTransport,
  request: ClientPinRequest,
  options: CborCallOptions = {},
): Promise<ClientPinResponse> {
  return parseClientPinResponse(await sendCbor(transport, CTAP2_CMD.CLIENT_PIN, encodeClientPin(request), options));
}

// -------------------------------------------------------------------------------------- selection

/** True when the authenticator implements authenticatorSelection (0x0B), i.e. CTAP 2.1 or later. */
export function supportsSelectionCommand(info: AuthenticatorInfo): boolean {
  return info.versions.some((v) => v === 'FIDO_2_1' || v === 'FIDO_2_2' || /^FIDO_2_[2-9]/.test(v));
}

/**
 * Waits for a touch (CTAP 2.1 authenticatorSelection). On CTAP 2.0 authenticators it sends, like
 * python-fido2, a makeCredential with a zero-length pinUvAuthParam: after the touch the authenticator
 * answers PIN_NOT_SET, PIN_INVALID or PIN_AUTH_INVALID, all meaning "this key was touched".
 */
export async function selection(transport: CborTransport, info: AuthenticatorInfo, options: CborCallOptions = {}): Promise<void> {
  if (supportsSelectionCommand(info)) {
    await sendCbor(transport, CTAP2_CMD.SELECTION, undefined, options);
    return;
  }
  try {
    await sendCbor(
      transport,
      CTAP2_CMD.MAKE_CREDENTIAL,
      encodeMakeCredential({
        clientDataHash: new Uint8Array(32),
        rp: { id: '.dummy' },
        user: { id: new Uint8Array([0x01]), name: 'dummy' },
        pubKeyCredParams: [{ alg: -7, type: 'public-key' }],
        pinUvAuthParam: new Uint8Array(0),
        pinUvAuthProtocol: 1,
      }),
      options,
    );
  } catch (error) {
    if (
      error instanceof CtapError &&
      (error.status === CTAP2_STATUS.PIN_NOT_SET ||
        error.status === CTAP2_STATUS.PIN_INVALID ||
        error.status === CTAP2_STATUS.PIN_AUTH_INVALID)
    ) {
      return;
    }
    throw error;
  }
}
