"""python-fido2 (0.9.x) transport for the virtual authenticator's UNIX socket.

python-fido2's CtapHidDevice takes a HidDescriptor and a connection object with read_packet(),
write_packet() and close() (fido2.hid.base.CtapHidConnection). The socket carries raw 64-byte
CTAPHID reports both ways, with no report-ID byte, which is exactly what those methods exchange.
"""

import socket

from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

REPORT_SIZE = 64


class UnixSocketCtapHidConnection(CtapHidConnection):
    def __init__(self, path, timeout=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def read_packet(self):
        buf = b""
        while len(buf) < REPORT_SIZE:
            chunk = self.sock.recv(REPORT_SIZE - len(buf))
            if not chunk:
                raise OSError("virtual authenticator closed the connection")
            buf += chunk
        return buf

    def write_packet(self, data):
        if len(data) != REPORT_SIZE:
            raise ValueError("CTAPHID reports are %d bytes" % REPORT_SIZE)
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


def open_device(device, timeout=None):
    """Opens 'unix:PATH' (or a bare PATH) as a python-fido2 CtapHidDevice."""
    path = device[5:] if device.startswith("unix:") else device
    descriptor = HidDescriptor(device, 0x1050, 0x0407, REPORT_SIZE, REPORT_SIZE)
    return CtapHidDevice(descriptor, UnixSocketCtapHidConnection(path, timeout))
