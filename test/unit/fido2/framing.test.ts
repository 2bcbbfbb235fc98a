import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONT_DATA_SIZE,
  CTAPHID,
  INIT_DATA_SIZE,
  MAX_MESSAGE_SIZE,
  MessageAssembler,
  decodeMessage,
  decodePacket,
  encodeMessage,
} from '../../../src/fido2/hid/framing.ts';
import { throwsWith } from './helpers.ts';

const CID = 0x11223344;
const OTHER = 0x55667788;

function payloadOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('CTAPHID framing', () => {
  it('has the limits of the spec: 57 + 128 × 59 = 7609 bytes', () => {
    assert.equal(INIT_DATA_SIZE, 57);
    assert.equal(CONT_DATA_SIZE, 59);
    assert.equal(MAX_MESSAGE_SIZE, 7609);
  });

  it('encodes the init packet header: CID, 0x80|CMD, big-endian BCNT, zero padding', () => {
    const [report, ...rest] = encodeMessage(CID, CTAPHID.CBOR, new Uint8Array([0x04]));
    assert.equal(rest.length, 0);
    assert.deepEqual([...(report as Uint8Array).subarray(0, 8)], [0x11, 0x22, 0x33, 0x44, 0x90, 0x00, 0x01, 0x04]);
    assert.ok((report as Uint8Array).subarray(8).every((b) => b === 0));
    assert.equal((report as Uint8Array).length, 64);
  });

  it('encodes continuation packets with SEQ 0, 1, ... and the right sizes', () => {
    const reports = encodeMessage(CID, CTAPHID.PING, payloadOf(57 + 59 + 1));
    assert.equal(reports.length, 3);
    assert.equal(reports[1]?.[4], 0);
    assert.equal(reports[2]?.[4], 1);
    assert.deepEqual([...(reports[0] as Uint8Array).subarray(5, 7)], [0x00, 57 + 59 + 1]);
  });

  it('round-trips a message of every length from 0 to 7609 (every split point)', () => {
    const full = payloadOf(MAX_MESSAGE_SIZE, 7);
    for (let size = 0; size <= MAX_MESSAGE_SIZE; size++) {
      const payload = full.subarray(0, size);
      const reports = encodeMessage(CID, CTAPHID.CBOR, payload);
      const expectedPackets = size <= 57 ? 1 : 1 + Math.ceil((size - 57) / 59);
      if (reports.length !== expectedPackets) assert.fail(`size ${size}: ${reports.length} packets`);
      const { cmd, payload: back } = decodeMessage(CID, reports);
      if (cmd !== CTAPHID.CBOR || Buffer.compare(back, payload) !== 0) assert.fail(`size ${size} did not round-trip`);
    }
    assert.equal(encodeMessage(CID, CTAPHID.CBOR, full).length, 129);
  });

  it('refuses to encode more than 7609 bytes', () => {
    throwsWith(() => encodeMessage(CID, CTAPHID.CBOR, new Uint8Array(MAX_MESSAGE_SIZE + 1)), 'fido2.request-too-large');
  });

  it('sends a zero-length message as one init packet with BCNT 0 and reassembles it', () => {
    const reports = encodeMessage(CID, CTAPHID.WINK, new Uint8Array(0));
    assert.equal(reports.length, 1);
    assert.deepEqual([...(reports[0] as Uint8Array).subarray(4, 7)], [0x88, 0, 0]);
    const event = new MessageAssembler(CID).push(reports[0] as Uint8Array);
    assert.deepEqual(event, { type: 'message', cmd: CTAPHID.WINK, payload: new Uint8Array(0) });
  });

  it('filters other channels out of interleaved traffic', () => {
    const mine = payloadOf(300, 3);
    const theirs = payloadOf(400, 9);
    const a = encodeMessage(CID, CTAPHID.CBOR, mine);
    const b = encodeMessage(OTHER, CTAPHID.CBOR, theirs);
    const interleaved: Uint8Array[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (b[i]) interleaved.push(b[i] as Uint8Array);
      if (a[i]) interleaved.push(a[i] as Uint8Array);
    }
    const assembler = new MessageAssembler(CID, CTAPHID.CBOR);
    const events = interleaved.map((r) => assembler.push(r)).filter((e) => e !== undefined);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], { type: 'message', cmd: CTAPHID.CBOR, payload: mine });
    assert.deepEqual(decodeMessage(OTHER, interleaved).payload, theirs);
  });

  it('surfaces KEEPALIVE frames with their status and keeps assembling afterwards', () => {
    const assembler = new MessageAssembler(CID, CTAPHID.CBOR);
    const [keepalive] = encodeMessage(CID, CTAPHID.KEEPALIVE, new Uint8Array([0x02]));
    assert.deepEqual(assembler.push(keepalive as Uint8Array), { type: 'keepalive', status: 0x02 });
    const [answer] = encodeMessage(CID, CTAPHID.CBOR, new Uint8Array([0x00]));
    assert.deepEqual(assembler.push(answer as Uint8Array), { type: 'message', cmd: CTAPHID.CBOR, payload: new Uint8Array([0]) });
  });

  it('surfaces ERROR frames with their code', () => {
    const [frame] = encodeMessage(CID, CTAPHID.ERROR, new Uint8Array([0x06]));
    assert.deepEqual(new MessageAssembler(CID, CTAPHID.CBOR).push(frame as Uint8Array), { type: 'error', code: 0x06 });
  });

  it('rejects a continuation packet with the wrong SEQ', () => {
    const reports = encodeMessage(CID, CTAPHID.CBOR, payloadOf(200));
    const bad = new Uint8Array(reports[1] as Uint8Array);
    bad[4] = 5;
    const assembler = new MessageAssembler(CID);
    assert.equal(assembler.push(reports[0] as Uint8Array), undefined);
    const error = throwsWith(() => assembler.push(bad), 'fido2.protocol');
    assert.match(error.message, /SEQ 5 \(expected 0\)/);
    assert.equal(assembler.inProgress, false);
  });

  it('rejects a repeated SEQ (a duplicated packet)', () => {
    const reports = encodeMessage(CID, CTAPHID.CBOR, payloadOf(200));
    const assembler = new MessageAssembler(CID);
    assembler.push(reports[0] as Uint8Array);
    assembler.push(reports[1] as Uint8Array);
    throwsWith(() => assembler.push(reports[1] as Uint8Array), 'fido2.protocol');
  });

  it('truncates the reassembled data to BCNT, ignoring the padding of the last packet', () => {
    const reports = encodeMessage(CID, CTAPHID.CBOR, payloadOf(60));
    const last = reports[1] as Uint8Array;
    last.fill(0xee, 5 + 3); // garbage after the 3 real bytes of the continuation packet
    const first = reports[0] as Uint8Array;
    const { payload } = decodeMessage(CID, [first, last]);
    assert.equal(payload.length, 60);
    assert.deepEqual(payload, payloadOf(60));
    // Single packet: BCNT 5 with non-zero bytes after it.
    const single = new Uint8Array(64).fill(0xaa);
    single.set([0x11, 0x22, 0x33, 0x44, 0x90, 0x00, 0x05], 0);
    assert.deepEqual(decodeMessage(CID, [single]).payload, new Uint8Array(5).fill(0xaa));
  });

  it('rejects a continuation without an init packet, an init inside a message, and a wrong command', () => {
    const reports = encodeMessage(CID, CTAPHID.CBOR, payloadOf(100));
    throwsWith(() => new MessageAssembler(CID).push(reports[1] as Uint8Array), 'fido2.protocol');
    const assembler = new MessageAssembler(CID);
    assembler.push(reports[0] as Uint8Array);
    throwsWith(() => assembler.push(reports[0] as Uint8Array), 'fido2.protocol');
    throwsWith(() => new MessageAssembler(CID, CTAPHID.CBOR).push(encodeMessage(CID, CTAPHID.PING, new Uint8Array(1))[0] as Uint8Array), 'fido2.protocol');
  });

  it('rejects a BCNT beyond 7609 and reports of the wrong size', () => {
    const report = new Uint8Array(64);
    report.set([0x11, 0x22, 0x33, 0x44, 0x90, 0xff, 0xff]);
    throwsWith(() => new MessageAssembler(CID).push(report), 'fido2.protocol');
    throwsWith(() => decodePacket(new Uint8Array(63)), 'fido2.protocol');
  });

  it('decodes packet headers', () => {
    const init = decodePacket(encodeMessage(0xffffffff, CTAPHID.INIT, new Uint8Array(8))[0] as Uint8Array);
    assert.deepEqual({ kind: init.kind, cid: init.cid }, { kind: 'init', cid: 0xffffffff });
    assert.equal(init.kind === 'init' && init.cmd, CTAPHID.INIT);
    assert.equal(init.kind === 'init' && init.bcnt, 8);
  });
});
