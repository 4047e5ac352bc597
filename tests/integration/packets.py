"""Helpers shared by the scripts that craft frames for tapsrv and read its replies off the TAP
(imported, not run)."""
import select
import socket
import struct
from dataclasses import dataclass

ETH_P_ALL = 0x0003


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


def recv_to_eof(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes."""
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def eth(dst_mac: bytes, src_mac: bytes, payload: bytes, etype: int = 0x0800) -> bytes:
    return dst_mac + src_mac + struct.pack("!H", etype) + payload


def ipv4(payload: bytes, src: bytes, dst: bytes, total=None, good_csum=True, ident=0,
         proto=6) -> bytes:
    """An IPv4 header (no options, TTL 64) before `payload`; `total` may lie about the length."""
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0, 64, proto, 0, src, dst)
    c = csum(h) if good_csum else csum(h) ^ 0x1111
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def tcp(src: bytes, dst: bytes, sport, dport, seq, ack, flags, payload=b"", options=b"",
        window=65535, offset=None, good_csum=True) -> bytes:
    """A TCP segment with its checksum over the pseudo-header of src and dst."""
    options += b"\x01" * (-len(options) % 4)  # NOP padding to a 4-byte boundary
    off = (20 + len(options)) // 4 if offset is None else offset
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4,
                    flags, window, 0, 0) + options
    seg = h + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(seg)) + seg)
    if not good_csum:
        c ^= 0x2222
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ts_option(val: int, ecr: int) -> bytes:
    return b"\x01\x01\x08\x0a" + struct.pack("!II", val & 0xFFFFFFFF, ecr & 0xFFFFFFFF)


def sniffer(ifname: str) -> socket.socket:
    """Every frame through `ifname`, both ways."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((ifname, 0))
    return s


@dataclass
class Segment:
    """A TCP segment seen on the TAP, in host order."""
    src_mac: bytes
    outgoing: bool  # sent by the kernel (towards tapsrv)
    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    payload_len: int
    tsval: int  # 0 without timestamps


def parse(frame: bytes, pkttype: int):
    """The TCP segment in an Ethernet frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    t = ip[ihl:]
    if len(t) < 20:
        return None
    sport, dport, seq, ack = struct.unpack("!HHII", t[:12])
    doff = (t[12] >> 4) * 4
    tsval, opts, i = 0, t[20:doff], 0
    while i < len(opts):
        if opts[i] in (0, 1):
            i += 1
            continue
        if opts[i] == 8 and i + 6 <= len(opts):
            tsval = struct.unpack("!I", opts[i + 2:i + 6])[0]
        i += max(opts[i + 1] if i + 1 < len(opts) else 2, 2)
    return Segment(frame[6:12], pkttype == socket.PACKET_OUTGOING, ip[12:16], ip[16:20], sport,
                   dport, seq, ack, t[13], struct.unpack("!H", ip[2:4])[0] - ihl - doff, tsval)


def drain(sock: socket.socket):
    """Every segment waiting on a sniffer, oldest first."""
    while select.select([sock], [], [], 0)[0]:
        frame, addr = sock.recvfrom(65535)
        seg = parse(frame, addr[2])
        if seg is not None:
            yield seg


def last_sent(sock: socket.socket, lport: int, dport: int) -> Segment:
    """The last segment the kernel sent on the connection lport -> dport: its seq + length is
    the peer's RCV.NXT, its ack the peer's SND.NXT once all is acknowledged."""
    last = None
    for seg in drain(sock):
        if seg.outgoing and (seg.sport, seg.dport) == (lport, dport):
            last = seg
    if last is None:
        raise SystemExit(f"no segment of {lport} -> {dport} seen on the TAP")
    return last
