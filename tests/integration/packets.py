"""Helpers shared by the scripts that craft frames for tapsrv (imported, not run)."""
import socket
import struct


def csum(b: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Up to n bytes: fewer only if the peer closed first."""
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got
