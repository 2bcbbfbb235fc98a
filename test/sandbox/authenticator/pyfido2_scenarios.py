"""Drives the virtual authenticator with Yubico's python-fido2 (0.9.1, Debian's, run with /usr/bin/python3).

usage: pyfido2_scenarios.py SCENARIO unix:PATH [ARGS...]

Every scenario uses python-fido2's own classes (Ctap2, ClientPin, PinProtocolV1/V2,
HmacSecretExtension, PackedAttestation, CoseKey.verify, Ctap1) and prints one JSON object on stdout
with what it observed; the TypeScript test asserts on it. Failed expectations inside a scenario
raise, which makes the process exit non-zero.
"""

import base64
import json
import os
import sys
import time

from fido2.attestation import PackedAttestation
from fido2.attestation.base import AttestationType
from fido2.cose import CoseKey
from fido2.ctap import CtapError
from fido2.ctap1 import ApduError, Ctap1
from fido2.ctap2 import Ctap2
from fido2.ctap2.extensions import HmacSecretExtension
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.hid import CTAPHID
from fido2.utils import sha256

from fido2_socket import open_device

RP = "example.com"
ES256 = -7
EDDSA = -8
PERM_MC = ClientPin.PERMISSION.MAKE_CREDENTIAL
PERM_GA = ClientPin.PERMISSION.GET_ASSERTION


def b64(data):
    return base64.b64encode(bytes(data)).decode()


def cose_json(key):
    out = {"kty": key[1], "alg": key[3], "crv": key[-1], "x": b64(key[-2])}
    if -3 in key:
        out["y"] = b64(key[-3])
    return out


def ctap_code(fn):
    """Runs fn, returning the CTAP error code it raised (or 0 on success)."""
    try:
        fn()
        return 0
    except CtapError as e:
        return int(e.code)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def pkcp(*algs):
    return [{"type": "public-key", "alg": a} for a in algs]


def make(ctap, alg_prefs, user_id=b"user-1", **kw):
    cdh = os.urandom(32)
    att = ctap.make_credential(cdh, {"id": RP, "name": "Example"}, {"id": user_id, "name": "alice"}, pkcp(*alg_prefs), **kw)
    return cdh, att


def descriptor(cred_id):
    return {"type": "public-key", "id": cred_id}


# ---------------------------------------------------------------------------------------------


def scenario_info(dev, _args):
    ctap = Ctap2(dev)
    info = ctap.info
    return {
        "hidVersion": dev.version,
        "deviceVersion": list(dev.device_version),
        "capabilities": dev.capabilities,
        "ping": dev.ping(b"\x5a" * 1000) == b"\x5a" * 1000,
        "versions": info.versions,
        "extensions": info.extensions,
        "aaguid": info.aaguid.hex(),
        "options": info.options,
        "maxMsgSize": info.max_msg_size,
        "pinUvProtocols": info.pin_uv_protocols,
        "maxCredsInList": info.max_creds_in_list,
        "maxCredIdLength": info.max_cred_id_length,
        "transports": info.transports,
        "algorithms": info.algorithms,
    }


def scenario_credentials(dev, _args):
    """makeCredential (ES256, EdDSA) with hmac-secret, packed self attestation, assertions, errors."""
    ctap = Ctap2(dev)
    out = {"credentials": []}
    statuses = []
    for prefs in ([ES256, EDDSA], [EDDSA, ES256]):
        cdh, att = make(ctap, prefs, extensions={"hmac-secret": True}, on_keepalive=statuses.append)
        result = PackedAttestation().verify(att.att_statement, att.auth_data, cdh)
        expect(result.attestation_type == AttestationType.SELF, "self attestation")
        ad = att.auth_data
        cd = ad.credential_data
        expect(cd.public_key.ALGORITHM == prefs[0], "first preferred algorithm chosen")
        expect(att.fmt == "packed", "packed")
        expect(ad.extensions == {"hmac-secret": True}, "hmac-secret echoed")
        expect(ad.is_user_present() and ad.is_attested() and ad.has_extension_data() and not ad.is_user_verified(), "mc flags")
        expect(ad.rp_id_hash == sha256(RP.encode()), "rp id hash")
        assertions = []
        for _ in range(2):
            gcdh = os.urandom(32)
            ga = ctap.get_assertion(RP, gcdh, [descriptor(b"\x00" * 16), descriptor(cd.credential_id)])
            ga.verify(gcdh, cd.public_key)  # raises on a bad signature
            CoseKey.parse(dict(cd.public_key)).verify(bytes(ga.auth_data) + gcdh, ga.signature)
            expect(ga.credential["id"] == cd.credential_id, "assertion names the credential")
            assertions.append({
                "clientDataHash": b64(gcdh),
                "authData": b64(ga.auth_data),
                "signature": b64(ga.signature),
                "flags": ga.auth_data.flags,
                "counter": ga.auth_data.counter,
            })
        # Silent probe: no touch, UP clear, still signed.
        pcdh = os.urandom(32)
        probe = ctap.get_assertion(RP, pcdh, [descriptor(cd.credential_id)], options={"up": False})
        probe.verify(pcdh, cd.public_key)
        out["credentials"].append({
            "alg": cd.public_key.ALGORITHM,
            "credentialId": b64(cd.credential_id),
            "cose": cose_json(cd.public_key),
            "clientDataHash": b64(cdh),
            "authData": b64(ad),
            "attSig": b64(att.att_statement["sig"]),
            "attAlg": att.att_statement["alg"],
            "assertions": assertions,
            "probeFlags": probe.auth_data.flags,
            "probeCounter": probe.auth_data.counter,
        })
    first_id = base64.b64decode(out["credentials"][0]["credentialId"])
    out["keepaliveStatuses"] = sorted(set(int(s) for s in statuses))
    out["errors"] = {
        "unknownCredential": ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32), [descriptor(os.urandom(64))])),
        "otherRp": ctap_code(lambda: ctap.get_assertion("other.example", os.urandom(32), [descriptor(first_id)])),
        "noAllowListNoResident": ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32))),
        "excluded": ctap_code(lambda: make(ctap, [ES256], exclude_list=[descriptor(first_id)])),
        "mcUpFalse": ctap_code(lambda: make(ctap, [ES256], options={"up": False})),
        "mcUvTrue": ctap_code(lambda: make(ctap, [ES256], options={"uv": True})),
        "gaUvTrue": ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32), [descriptor(first_id)], options={"uv": True})),
        "gaRk": ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32), [descriptor(first_id)], options={"rk": True})),
        "rs256Only": ctap_code(lambda: make(ctap, [-257])),
    }
    # Discoverable credentials: two users, found without an allowList, newest first.
    _, rk1 = make(ctap, [ES256], user_id=b"rk-user-1", options={"rk": True})
    _, rk2 = make(ctap, [EDDSA], user_id=b"rk-user-2", options={"rk": True})
    rcdh = os.urandom(32)
    found = ctap.get_assertions(RP, rcdh)
    found[0].verify(rcdh, rk2.auth_data.credential_data.public_key)
    found[1].verify(rcdh, rk1.auth_data.credential_data.public_key)
    out["resident"] = {
        "count": found[0].number_of_credentials,
        "users": [b64(a.user["id"]) for a in found],
        "afterLast": ctap_code(lambda: ctap.get_next_assertion()),
    }
    return out


def hmac_input(ctap, protocol, salts, omit_protocol=False, corrupt_auth=False):
    ext = HmacSecretExtension(ctap, protocol)
    data = {"salt1": salts[0]}
    if len(salts) > 1:
        data["salt2"] = salts[1]
    inp = ext.process_get_input({"hmacGetSecret": data})
    if omit_protocol:
        del inp[4]
    if corrupt_auth:
        inp[3] = bytes([inp[3][0] ^ 1]) + inp[3][1:]
    return ext, inp


def scenario_hmac(dev, args):
    """hmac-secret through python-fido2's HmacSecretExtension, without and with UV (PIN token)."""
    pin = args[0]
    ctap = Ctap2(dev)
    expect(ctap.info.options.get("clientPin") is True, "the device has a PIN")
    _, att = make(ctap, [ES256], extensions={"hmac-secret": True})
    cd = att.auth_data.credential_data
    allow = [descriptor(cd.credential_id)]
    salt1, salt2 = os.urandom(32), os.urandom(32)

    def run(protocol, salts, uv, omit_protocol=False):
        ext, inp = hmac_input(ctap, protocol, salts, omit_protocol)
        cdh = os.urandom(32)
        kw = {}
        if uv:
            token = ClientPin(ctap, protocol).get_pin_token(pin, PERM_GA, RP)
            kw = {"pin_uv_param": protocol.authenticate(token, cdh), "pin_uv_protocol": protocol.VERSION}
        ga = ctap.get_assertion(RP, cdh, allow, extensions={"hmac-secret": inp}, **kw)
        ga.verify(cdh, cd.public_key)
        expect(ga.auth_data.has_extension_data(), "ED flag")
        expect(ga.auth_data.is_user_verified() == uv, "UV flag matches")
        outputs = ext.process_get_output(ga.auth_data)["hmacGetSecret"]
        return [outputs["output1"].hex()] + ([outputs["output2"].hex()] if "output2" in outputs else [])

    res = {
        "noUv": {
            "v2": run(PinProtocolV2(), [salt1], False),
            "v2again": run(PinProtocolV2(), [salt1], False),
            "v1": run(PinProtocolV1(), [salt1], False),
            "v1NoProtocolKey": run(PinProtocolV1(), [salt1], False, omit_protocol=True),
            "twoSalts": run(PinProtocolV2(), [salt1, salt2], False),
        },
        "uv": {
            "v2": run(PinProtocolV2(), [salt1], True),
            "v2again": run(PinProtocolV2(), [salt1], True),
            "v1": run(PinProtocolV1(), [salt1], True),
            "twoSalts": run(PinProtocolV1(), [salt1, salt2], True),
        },
    }
    _, bad = hmac_input(ctap, PinProtocolV2(), [salt1], corrupt_auth=True)
    res["badSaltAuth"] = ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32), allow, extensions={"hmac-secret": bad}))
    # A 16-byte salt, encrypted and authenticated correctly, is still not a valid salt.
    proto = PinProtocolV1()
    key_agreement, shared = ClientPin(ctap, proto)._get_shared_secret()
    enc = proto.encrypt(shared, os.urandom(16))
    short = {1: key_agreement, 2: enc, 3: proto.authenticate(shared, enc)}
    res["shortSalt"] = ctap_code(lambda: ctap.get_assertion(RP, os.urandom(32), allow, extensions={"hmac-secret": short}))
    # A credential made without hmac-secret gives no output (extension ignored).
    _, plain = make(ctap, [ES256])
    _, inp = hmac_input(ctap, PinProtocolV2(), [salt1])
    ga = ctap.get_assertion(RP, os.urandom(32), [descriptor(plain.auth_data.credential_data.credential_id)], extensions={"hmac-secret": inp})
    res["withoutHmacCredential"] = ga.auth_data.extensions
    return res


def pin_token_code(ctap, protocol, pin):
    return ctap_code(lambda: ClientPin(ctap, protocol).get_pin_token(pin, PERM_MC | PERM_GA, RP))


def scenario_pin(dev, _args):
    """ClientPin with PinProtocolV1 and V2: set, tokens, permissions, change, policy, wrong PINs."""
    ctap = Ctap2(dev)
    res = {"clientPinBefore": ctap.info.options.get("clientPin")}
    res["tokenWithoutPin"] = pin_token_code(ctap, PinProtocolV2(), "1234")
    ClientPin(ctap, PinProtocolV2()).set_pin("1234")
    ctap = Ctap2(dev)  # re-read getInfo
    res["clientPinAfter"] = ctap.info.options.get("clientPin")
    res["setPinAgain"] = ctap_code(lambda: ClientPin(ctap, PinProtocolV1()).set_pin("9999"))
    res["retries"] = list(ClientPin(ctap).get_pin_retries())

    # Tokens from both protocols authorise makeCredential and getAssertion (UV flag), once each.
    res["tokens"] = {}
    for protocol in (PinProtocolV1(), PinProtocolV2()):
        client_pin = ClientPin(ctap, protocol)
        token = client_pin.get_pin_token("1234", PERM_MC | PERM_GA, RP)
        cdh = os.urandom(32)
        att = ctap.make_credential(cdh, {"id": RP}, {"id": b"u"}, pkcp(ES256), pin_uv_param=protocol.authenticate(token, cdh), pin_uv_protocol=protocol.VERSION)
        reuse_cdh = os.urandom(32)
        reuse = ctap_code(lambda: ctap.make_credential(reuse_cdh, {"id": RP}, {"id": b"u"}, pkcp(ES256), pin_uv_param=protocol.authenticate(token, reuse_cdh), pin_uv_protocol=protocol.VERSION))
        ga_token = client_pin.get_pin_token("1234", PERM_GA, RP)
        gcdh = os.urandom(32)
        ga = ctap.get_assertion(RP, gcdh, [descriptor(att.auth_data.credential_data.credential_id)], pin_uv_param=protocol.authenticate(ga_token, gcdh), pin_uv_protocol=protocol.VERSION)
        ga.verify(gcdh, att.auth_data.credential_data.public_key)
        other_token = client_pin.get_pin_token("1234", PERM_GA, "other.example")
        other_cdh = os.urandom(32)
        wrong_rp = ctap_code(lambda: ctap.get_assertion(RP, other_cdh, [descriptor(att.auth_data.credential_data.credential_id)], pin_uv_param=protocol.authenticate(other_token, other_cdh), pin_uv_protocol=protocol.VERSION))
        mc_only = client_pin.get_pin_token("1234", PERM_MC, RP)
        mc_only_cdh = os.urandom(32)
        no_perm = ctap_code(lambda: ctap.get_assertion(RP, mc_only_cdh, [descriptor(att.auth_data.credential_data.credential_id)], pin_uv_param=protocol.authenticate(mc_only, mc_only_cdh), pin_uv_protocol=protocol.VERSION))
        res["tokens"]["v%d" % protocol.VERSION] = {
            "tokenLength": len(token),
            "mcUv": att.auth_data.is_user_verified(),
            "reuseAfterUse": reuse,
            "gaUv": ga.auth_data.is_user_verified(),
            "gaCounter": ga.auth_data.counter,
            "wrongRp": wrong_rp,
            "missingPermission": no_perm,
            "uvAssertion": {
                "clientDataHash": b64(gcdh),
                "authData": b64(ga.auth_data),
                "signature": b64(ga.signature),
                "cose": cose_json(att.auth_data.credential_data.public_key),
            },
        }

    # The legacy getPinToken (0x05) path, as a CTAP 2.0 platform would use it.
    proto = PinProtocolV2()
    key_agreement, shared = ClientPin(ctap, proto)._get_shared_secret()
    resp = ctap.client_pin(2, ClientPin.CMD.GET_TOKEN_USING_PIN_LEGACY, key_agreement=key_agreement, pin_hash_enc=proto.encrypt(shared, sha256(b"1234")[:16]))
    legacy = proto.decrypt(shared, resp[ClientPin.RESULT.PIN_UV_TOKEN])
    legacy_uv = []
    for _ in range(2):
        cdh = os.urandom(32)
        att = ctap.make_credential(cdh, {"id": RP}, {"id": b"u"}, pkcp(ES256), pin_uv_param=proto.authenticate(legacy, cdh), pin_uv_protocol=2)
        legacy_uv.append(att.auth_data.is_user_verified())
    res["legacyToken"] = legacy_uv

    # With a PIN: a discoverable credential needs a token; a non-discoverable one does not (makeCredUvNotRqd).
    res["rkWithoutToken"] = ctap_code(lambda: make(ctap, [ES256], options={"rk": True}))
    _, plain = make(ctap, [ES256])
    res["nonRkWithoutTokenUv"] = plain.auth_data.is_user_verified()
    res["badPinUvAuthParam"] = ctap_code(lambda: make(ctap, [ES256], pin_uv_param=b"\x01" * 32, pin_uv_protocol=2))
    res["pinUvAuthParamWithoutProtocol"] = ctap_code(lambda: make(ctap, [ES256], pin_uv_param=b"\x01" * 32))

    # changePIN, then the old PIN is wrong and the new one works.
    ClientPin(ctap, PinProtocolV1()).change_pin("1234", "5678")
    res["oldPinAfterChange"] = pin_token_code(ctap, PinProtocolV2(), "1234")
    res["retriesAfterOneWrong"] = ClientPin(ctap).get_pin_retries()[0]
    res["newPinAfterChange"] = pin_token_code(ctap, PinProtocolV2(), "5678")
    res["retriesAfterRight"] = ClientPin(ctap).get_pin_retries()[0]

    # PIN policy (4..63 bytes), checked by the authenticator: bypass python-fido2's own padding check.
    def change_raw(new_padded):
        proto = PinProtocolV2()
        key_agreement, shared = ClientPin(ctap, proto)._get_shared_secret()
        pin_hash_enc = proto.encrypt(shared, sha256(b"5678")[:16])
        new_pin_enc = proto.encrypt(shared, new_padded)
        ctap.client_pin(2, ClientPin.CMD.CHANGE_PIN, key_agreement=key_agreement, pin_hash_enc=pin_hash_enc, new_pin_enc=new_pin_enc, pin_uv_param=proto.authenticate(shared, new_pin_enc + pin_hash_enc))

    res["policyTooShort"] = ctap_code(lambda: change_raw(b"123".ljust(64, b"\0")))
    res["policyTooLong"] = ctap_code(lambda: change_raw(b"7" * 64))
    res["policyThreeEmoji"] = ctap_code(lambda: change_raw("\U0001F511\U0001F511\U0001F511".encode().ljust(64, b"\0")))
    res["stillOldPin"] = pin_token_code(ctap, PinProtocolV1(), "5678")

    # The key agreement key changes after a wrong PIN.
    ka1 = ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[1]
    ka2 = ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[1]
    wrong = pin_token_code(ctap, PinProtocolV2(), "0000")
    ka3 = ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[1]
    res["keyAgreement"] = {"stable": ka1 == ka2, "changedAfterWrongPin": ka3 != ka2, "wrong": wrong, "alg": ka3[3]}
    res["wrongSequence"] = [wrong] + [pin_token_code(ctap, p, "0000") for p in (PinProtocolV1(), PinProtocolV2())]
    res["rightWhileBlocked"] = pin_token_code(ctap, PinProtocolV2(), "5678")
    res["retriesBlocked"] = list(ClientPin(ctap).get_pin_retries())
    res["uvRetries"] = ctap_code(lambda: ClientPin(ctap).get_uv_retries())
    return res


def scenario_pin_token(dev, args):
    """Gets a token with PIN args[0]; reports the status and the retries."""
    ctap = Ctap2(dev)
    code = pin_token_code(ctap, PinProtocolV2(), args[0])
    return {"status": code, "retries": list(ClientPin(ctap).get_pin_retries())}


def scenario_wrong_pins(dev, args):
    """Tries a wrong PIN args[0] times; reports each status."""
    ctap = Ctap2(dev)
    return {"statuses": [pin_token_code(ctap, PinProtocolV2(), "0000") for _ in range(int(args[0]))], "retries": ClientPin(ctap).get_pin_retries()[0]}


def scenario_u2f(dev, _args):
    """A U2F-only device: python-fido2 refuses it as CTAP2 and uses it through Ctap1."""
    res = {"capabilities": dev.capabilities}
    try:
        Ctap2(dev)
        res["ctap2"] = "accepted"
    except ValueError as e:
        res["ctap2"] = str(e)
    try:
        dev.call(CTAPHID.CBOR, b"\x04")
        res["cborCall"] = 0
    except CtapError as e:
        res["cborCall"] = int(e.code)
    ctap1 = Ctap1(dev)
    res["version"] = ctap1.get_version()

    def poll(fn):
        polls = 0
        deadline = time.time() + 5
        while True:
            try:
                return fn(), polls
            except ApduError as e:
                if e.code != 0x6985 or time.time() > deadline:
                    raise
                polls += 1
                time.sleep(0.05)

    app = sha256(b"https://u2f.example")
    chal = os.urandom(32)
    reg, reg_polls = poll(lambda: ctap1.register(chal, app))
    reg.verify(app, chal)
    chal2 = os.urandom(32)
    sig, sig_polls = poll(lambda: ctap1.authenticate(chal2, app, reg.key_handle))
    sig.verify(app, chal2, reg.public_key)
    try:
        ctap1.authenticate(os.urandom(32), app, reg.key_handle, check_only=True)
        check_only = 0x9000
    except ApduError as e:
        check_only = e.code
    try:
        ctap1.authenticate(os.urandom(32), sha256(b"https://other.example"), reg.key_handle, check_only=True)
        other_app = 0x9000
    except ApduError as e:
        other_app = e.code
    res.update({
        "registerPolls": reg_polls,
        "authenticatePolls": sig_polls,
        "userPresence": sig.user_presence,
        "counter": sig.counter,
        "certificate": b64(reg.certificate),
        "keyHandleLength": len(reg.key_handle),
        "checkOnly": check_only,
        "otherApp": other_app,
    })
    return res


def scenario_selection(dev, _args):
    ctap = Ctap2(dev)
    statuses = []
    code = ctap_code(lambda: ctap.selection(on_keepalive=statuses.append))
    return {"status": code, "keepalives": sorted(set(int(s) for s in statuses))}


SCENARIOS = {
    "info": scenario_info,
    "credentials": scenario_credentials,
    "hmac": scenario_hmac,
    "pin": scenario_pin,
    "pin-token": scenario_pin_token,
    "wrong-pins": scenario_wrong_pins,
    "u2f": scenario_u2f,
    "selection": scenario_selection,
}


def main():
    name, device, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    dev = open_device(device, timeout=30)
    try:
        result = SCENARIOS[name](dev, args)
    finally:
        dev.close()
    json.dump(result, sys.stdout, default=lambda o: o.hex() if isinstance(o, bytes) else str(o))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
