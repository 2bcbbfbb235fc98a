/**
 * A quick, cancellable check that the D-Bus session bus answers, made before the keyring library (whose calls
 * are synchronous and cannot be cancelled) is used in-process. It opens the bus socket and starts D-Bus's
 * SASL handshake with a bare `AUTH`: a live bus daemon answers at once with the mechanisms it accepts. A bus
 * that accepts connections and never answers fails here, under a deadline, instead of freezing tng in a
 * native call.
 */
import { existsSync, lstatSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** One place the session bus may be reached: a unix socket path, or a Linux abstract socket name. */
export type BusSocket = { path: string } | { abstract: string };

export type BusLocation = { sockets: BusSocket[] } | { missing: string };

/** Where the session bus is (per DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus), or why it certainly is not. */
export function locateSessionBus(env: NodeJS.ProcessEnv): BusLocation {
  const address = env.DBUS_SESSION_BUS_ADDRESS?.trim();
  if (address) {
    const sockets: BusSocket[] = [];
    let other = false;
    for (const entry of address.split(';').filter((e) => e !== '')) {
      const socket = unixSocketOf(entry);
      if (socket === undefined) other = true;
      else sockets.push(socket);
    }
    // Transports other than unix sockets (tcp, launchd, …) are left to the library.
    if (other) return { sockets: [] };
    const present = sockets.filter((s) => !('path' in s) || existsSync(s.path));
    if (present.length === 0) return { missing: `no socket at DBUS_SESSION_BUS_ADDRESS=${address}` };
    return { sockets: present };
  }
  const runtime = env.XDG_RUNTIME_DIR;
  if (!runtime) return { missing: 'neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set' };
  const path = join(runtime, 'bus');
  try {
    if (lstatSync(path).isSocket()) return { sockets: [{ path }] };
  } catch {
    // no socket there
  }
  return { missing: `DBUS_SESSION_BUS_ADDRESS is not set and ${path} is not a socket` };
}

function unixSocketOf(entry: string): BusSocket | undefined {
  if (!entry.startsWith('unix:')) return undefined;
  const pairs = new Map(
    entry
      .slice('unix:'.length)
      .split(',')
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at), part.slice(at + 1)] as const;
      }),
  );
  const decode = (value: string | undefined) => {
    if (value === undefined) return undefined;
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  };
  const path = decode(pairs.get('path'));
  if (path !== undefined) return { path };
  const abstract = decode(pairs.get('abstract'));
  if (abstract !== undefined) return { abstract };
  return undefined;
}

export type ProbeOutcome = 'answered' | 'refused' | 'silent';

/** Starts the SASL handshake on one socket: `answered` by a reply line, `refused` on a connect error, else `silent`. */
export function probeBusSocket(socket: BusSocket, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const path = 'path' in socket ? socket.path : `\0${socket.abstract}`;
    const connection = connect({ path });
    let settled = false;
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('silent'), timeoutMs);
    let reply = '';
    connection.setEncoding('latin1');
    connection.on('connect', () => connection.write('\0AUTH\r\n'));
    connection.on('data', (text: string) => {
      reply += text;
      if (reply.includes('\r\n')) finish('answered');
    });
    connection.on('error', () => finish('refused'));
    connection.on('close', () => finish(reply === '' ? 'refused' : 'answered'));
  });
}
