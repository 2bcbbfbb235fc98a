/**
 * Model names for well-known AAGUIDs (Yubico's published list: yubi.co/aaguids). Informational only —
 * an AAGUID names a model, it proves nothing; unknown ones get a generic name.
 */

const MODELS: Readonly<Record<string, string>> = {
  'cb69481e-8ff7-4039-93ec-0a2729a154a8': 'YubiKey 5 Series',
  'ee882879-721c-4913-9775-3dfcce97072a': 'YubiKey 5 Series',
  'fa2b99dc-9e39-4257-8f92-4a30d23c4118': 'YubiKey 5 Series with NFC',
  '2fc0579f-8113-47ea-b116-bb5a8db9202a': 'YubiKey 5 Series with NFC',
  'a25342c0-3cdc-4414-8e46-f4807fca511c': 'YubiKey 5 Series with NFC',
  'c5ef55ff-ad9a-4b9f-b580-adebafe026d0': 'YubiKey 5Ci',
  '73bb0cd4-e502-49b8-9c6f-b59445bf720b': 'YubiKey 5 FIPS Series',
  'c1f9a0bc-1dd2-404a-b27f-8e29047a43fd': 'YubiKey 5 FIPS Series with NFC',
  'f8a011f3-8c0a-4d15-8006-17111f9edc7d': 'Security Key by Yubico',
  'b92c3f9a-c014-4056-887f-140a2501163b': 'Security Key by Yubico',
  '6d44ba9b-f6ec-2e49-b930-0c8fe920cb73': 'Security Key NFC by Yubico',
  '149a2021-8ef6-4133-96b8-81f8d5b7f1f5': 'Security Key NFC by Yubico',
  'd8522d9f-575b-4866-88a9-ba99fa02f35b': 'YubiKey Bio Series',
};

const ZERO = '00000000-0000-0000-0000-000000000000';

/** The model name for an AAGUID (8-4-4-4-12 text), or undefined when it is not in the table. */
export function modelForAaguid(aaguid: string): string | undefined {
  return MODELS[aaguid.toLowerCase()];
}

/** A display name: the model, else `FIDO2 authenticator <aaguid>` (or the HID product name for an all-zero AAGUID). */
export function authenticatorName(aaguid: string, hidName?: string): string {
  const model = modelForAaguid(aaguid);
  if (model) return model;
  if (aaguid === ZERO && hidName) return hidName;
  return `FIDO2 authenticator ${aaguid}`;
}
