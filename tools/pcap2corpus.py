#!/usr/bin/env python3
"""Turns a tapsrv --pcap capture into seed corpora for the fuzz targets (tests/fuzz/).

Usage: pcap2corpus.py CAPTURE.pcap OUT_DIR   (writes OUT_DIR/<target>/, replacing what was there)
       pcap2corpus.py --derived OUT_DIR      (rewrites only fuzz_frame_config, from OUT_DIR/fuzz_frame,
                                              and the handcrafted fuzz_tcp_active scripts)

fuzz_frame gets every TCP connection as one input (the frames tapsrv received, with the gaps
between them) and one input per distinct received frame; the other targets get the options,
segments and client scripts of the same connections, plus a few handcrafted edge cases. The
formats are the ones tests/fuzz/*.cpp read; keep the two in step.
"""
import hashlib
import os
import shutil
import struct
import sys
from collections import OrderedDict

OUR_MAC = bytes([0x02, 0x00, 0x0A, 0x00, 0x00, 0x02])
BROADCAST = b"\xff" * 6
FRAME_ISS = 0x10000000  # fuzz_frame.cpp kFrameIss: tapsrv's ISS in the replay
SERVICES = {3333: 0, 9: 1, 19: 2, 8080: 3}  # port -> service::Kind, as fuzz_tcp_script reads it
MAX_CONVERSATION_FRAMES = 40
ACK, SYN, FIN, RST, PSH, ECE, CWR = 0x10, 0x02, 0x01, 0x04, 0x08, 0x40, 0x80


def read_pcap(path):
    """(seconds as float, frame bytes) for every record of a classic pcap file."""
    data = open(path, "rb").read()
    magic = struct.unpack_from("<I", data)[0]
    order = "<" if magic == 0xA1B2C3D4 else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from(order + "IIII", data, off)
        out.append((sec + usec / 1e6, data[off + 16 : off + 16 + incl]))
        off += 16 + incl
    return out


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Tcp:
    """The TCP segment of an Ethernet/IPv4 frame, or None for anything else."""

    @staticmethod
    def parse(frame):
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            return None
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        seg = frame[14 + ihl : 14 + total]
        if len(seg) < 20:
            return None
        t = Tcp()
        t.ip_off, t.tcp_off = 14, 14 + ihl
        t.src, t.dst = frame[26:30], frame[30:34]
        t.sport, t.dport, t.seq, t.ack = struct.unpack_from("!HHII", seg)
        t.hlen = (seg[12] >> 4) * 4
        t.flags, t.window, t.urgent = seg[13], struct.unpack_from("!H", seg, 14)[0], seg[18:20]
        t.options = seg[20 : t.hlen]
        t.payload = seg[t.hlen :]
        return t


def options(raw):
    """(mss, wscale, sack_permitted, (tsval, tsecr), [(left, right)]) of an options area."""
    mss = ws = ts = None
    sackok, blocks, i = False, [], 0
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2:
            break
        body = raw[i + 2 : i + raw[i + 1]]
        if kind == 2 and len(body) == 2:
            mss = struct.unpack("!H", body)[0]
        elif kind == 3 and len(body) == 1:
            ws = body[0]
        elif kind == 4:
            sackok = True
        elif kind == 8 and len(body) == 8:
            ts = struct.unpack("!II", body)
        elif kind == 5:
            blocks = [struct.unpack_from("!II", body, k) for k in range(0, len(body) - 7, 8)]
        i += raw[i + 1]
    return mss, ws, sackok, ts, blocks[:4]


def option_layout(raw):
    """The kinds and lengths of an options area, without the values (SACK edges, timestamps)."""
    layout, i = [], 0
    while i < len(raw):
        length = 1 if raw[i] in (0, 1) else (raw[i + 1] if i + 1 < len(raw) else 1)
        layout.append((raw[i], length))
        i += max(length, 1)
    return tuple(layout)


def options_input(mss, ws, sackok, ts, blocks):
    """The encoding of fuzz::read_options()."""
    present = (1 if mss is not None else 0) | (2 if ws is not None else 0)
    present |= (4 if sackok else 0) | (8 if ts is not None else 0) | (len(blocks) << 4)
    out = bytes([present])
    if mss is not None:
        out += struct.pack("!H", mss)
    if ws is not None:
        out += bytes([ws])
    if ts is not None:
        out += struct.pack("!II", *ts)
    for left, right in blocks:
        out += struct.pack("!II", left, right)
    return out


def time_step(gap):
    """The byte fuzz::time_step() reads back as (about) `gap` seconds."""
    for exponent, unit in enumerate((100e-6, 1e-3, 10e-3, 1.0)):
        if gap < 63.5 * unit or exponent == 3:
            return (exponent << 6) | min(63, int(round(gap / unit)))
    return 0


def rewrite_ack(frame, t, delta):
    """The frame with its ACK number and SACK blocks moved by `delta`, checksum recomputed."""
    f = bytearray(frame)
    o = t.tcp_off
    if t.flags & ACK:
        struct.pack_into("!I", f, o + 8, (t.ack + delta) & 0xFFFFFFFF)
    i = 20
    while i < t.hlen:
        kind = f[o + i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        length = f[o + i + 1] if i + 1 < t.hlen else 0
        if length < 2:
            break
        if kind == 5:
            for k in range(i + 2, i + length - 7, 4):
                v = struct.unpack_from("!I", f, o + k)[0]
                struct.pack_into("!I", f, o + k, (v + delta) & 0xFFFFFFFF)
        i += length
    seg_len = len(t.payload) + t.hlen
    struct.pack_into("!H", f, o + 16, 0)
    pseudo = t.src + t.dst + struct.pack("!BBH", 0, 6, seg_len)
    struct.pack_into("!H", f, o + 16, checksum(pseudo + bytes(f[o : o + seg_len])))
    return bytes(f)


def chunk(gap, frame):
    """One [be16 length][time step][frame] chunk of fuzz_frame's input (top bit of the length
    clear: fuzz_frame corrects the checksums, which in a capture are right already)."""
    return struct.pack("!HB", len(frame), time_step(gap)) + frame


class Corpus:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.files = OrderedDict()

    def add(self, target, tag, data):
        digest = hashlib.sha1(data).hexdigest()[:12]
        if any(t == target and n.endswith(digest) for t, n in self.files):
            return  # the same bytes under another name add nothing
        self.files[(target, "%s-%s" % (tag, digest))] = data

    def write(self):
        for target in sorted({t for t, _ in self.files}):
            d = os.path.join(self.out_dir, target)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        for (target, name), data in self.files.items():
            with open(os.path.join(self.out_dir, target, name), "wb") as f:
                f.write(data)


def step(time, flags, seq=0, ack=0, window=65535, length=0, peer=0, opts=None, payload=None):
    """One step of fuzz_tcp_script; `opts` are read_options() bytes (TSval/TSecr offsets).
    Without `payload` (at most 255 bytes), the target sends `length` bytes of its pattern."""
    control = peer | (0x10 if opts is not None else 0)
    if payload is not None:
        control |= 0x80
        length = len(payload)
    elif length > 255:
        control |= 0x20
        length = (length + 15) // 16
    head = bytes([time, flags, control]) + struct.pack("!hhH", seq, ack, window)
    return head + bytes([length]) + (opts or b"") + (payload or b"")


def script_step(gap, t):
    """The client's segment as a step: in order and acking everything (offsets 0); a short
    payload (an HTTP request) as it was, a longer one as the target's pattern."""
    mss, ws, sackok, ts, _ = options(t.options)
    opts = options_input(mss, ws, sackok, (0, 0) if ts else None, [])
    short = t.payload if 0 < len(t.payload) <= 255 else None
    return step(time_step(gap), t.flags, window=t.window, length=len(t.payload), opts=opts,
                payload=short)


def conversations(records):
    """Received frames per TCP 4-tuple, in order, ACKs rewritten to FRAME_ISS; and the first
    ARP frame the kernel sent us (it teaches tapsrv the client's MAC)."""
    arp, iss, convs = None, {}, OrderedDict()
    for when, frame in records:
        outgoing = frame[6:12] == OUR_MAC
        if not outgoing and arp is None and frame[12:14] == b"\x08\x06":
            arp = frame
        t = Tcp.parse(frame)
        if t is None:
            continue
        if outgoing:
            if t.flags & (SYN | ACK) == SYN | ACK:
                iss[(t.dst, t.dport, t.sport)] = t.seq
            continue
        key = (t.src, t.sport, t.dport)
        delta = (FRAME_ISS - iss[key]) & 0xFFFFFFFF if key in iss else 0
        convs.setdefault(key, []).append((when, rewrite_ack(frame, t, delta), t))
    return arp, convs


def frame_seeds(corpus, records, arp, convs):
    for (_, sport, dport), frames in convs.items():
        data, prev = b"", frames[0][0]
        if arp is not None:
            data += chunk(0, arp)
        for when, frame, _ in frames[:MAX_CONVERSATION_FRAMES]:
            data += chunk(when - prev, frame)
            prev = when
        corpus.add("fuzz_frame", "conv-%d-%d" % (dport, sport), data)
    # ARP, ICMP, UDP and other protocols together, as they came.
    others = [(w, f) for w, f in records if f[6:12] != OUR_MAC and Tcp.parse(f) is None]
    if others:
        data = b"".join(chunk(w - p, f) for (p, _), (w, f) in zip([others[0]] + others, others))
        corpus.add("fuzz_frame", "conv-other", data)
    # One input per kind of received frame: protocol, flags, port and a size class.
    seen = set()
    for _, frame in records:
        if frame[6:12] == OUR_MAC:
            continue
        t = Tcp.parse(frame)
        key = (frame[12:14], frame[23:24], t and t.flags, t and t.dport, len(frame) // 256)
        if key not in seen:
            seen.add(key)
            corpus.add("fuzz_frame", "frame", chunk(0, frame))


def segment_seeds(corpus, records):
    seen_opts, seen_shapes = set(), set()
    for _, frame in records:
        t = Tcp.parse(frame)
        if t is None:
            continue
        layout = option_layout(t.options)
        if layout not in seen_opts:
            seen_opts.add(layout)
            corpus.add("fuzz_tcp_options", "captured", t.options)
        shape = (t.flags, len(t.options), min(len(t.payload), 64))
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        head = t.src + t.dst + struct.pack("!HHIIBH", t.sport, t.dport, t.seq, t.ack, t.flags, t.window)
        flip = struct.pack("!H", len(seen_shapes) * 97 % 65536)
        data = head + t.urgent + options_input(*options(t.options)) + flip + t.payload[:64]
        corpus.add("fuzz_tcp_roundtrip", "captured", data)


def script_seeds(corpus, convs):
    for (_, sport, dport), frames in convs.items():
        if dport not in SERVICES:
            continue
        data, prev = bytes([SERVICES[dport]]), frames[0][0]
        for when, _, t in frames[:MAX_CONVERSATION_FRAMES]:
            data += script_step(when - prev, t)
            prev = when
        corpus.add("fuzz_tcp_script", "conv-%d-%d" % (dport, sport), data)


def handcrafted(corpus):
    """What a kernel client never sends but the decoders must take apart."""
    for name, raw in [
        ("empty", b""),
        ("eol-padding", b"\x01\x01\x00\x00"),
        ("all-kinds", b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + b"\x00\x00\x00\x01\x00\x00\x00\x02"
         + b"\x01\x03\x03\x0e\x05\x0a" + b"\x00\x00\x00\x10\x00\x00\x00\x20"),
        ("four-sack-blocks", b"\x05\x22" + bytes(range(32))),
        ("unknown-kind", b"\xfe\x06\x00\x00\x00\x00\x01\x00"),
        ("bad-mss-length", b"\x02\x03\x05"),
        ("length-past-end", b"\x08\x0a\x00\x00"),
        ("length-one", b"\x03\x01\x00"),
        ("duplicate-sack", b"\x05\x12" + bytes(16) + b"\x05\x0a" + bytes(8)),
    ]:
        corpus.add("fuzz_tcp_options", name, raw)
    # Scripts: the handshake with every option, data, an out-of-order segment, a zero window
    # held for seconds, and four peers against a table of three; under several configurations.
    ts = options_input(None, None, False, (0, 0), [])
    syn = step(0, SYN, opts=options_input(1460, 7, True, (0, 0), []))
    handshake = syn + step(2, ACK, window=1024, opts=ts)
    data = step(2, ACK | 0x08, window=1024, length=64, opts=ts)
    hole = step(2, ACK, seq=100, window=1024, length=64, opts=ts)
    zero = step(0x45, ACK, window=0, opts=ts) + step(0xC5, ACK, window=0, opts=ts)
    reopen = step(0x42, ACK, window=4096, opts=ts)
    fin = step(0x50, FIN | ACK, opts=ts)
    for config in (0x00, 0x1C, 0x40, 0x80, 0x03, 0x02):
        tag = "%02x" % config
        corpus.add("fuzz_tcp_script", "echo-" + tag, bytes([config]) + handshake + data + fin)
        corpus.add("fuzz_tcp_script", "hole-zero-" + tag,
                   bytes([config]) + handshake + hole + data + zero + reopen + fin)
    four = b"".join(step(0, SYN, peer=p) for p in range(4))
    corpus.add("fuzz_tcp_script", "four-peers", b"\x00" + four)


# fuzz_frame_config's config byte: bits 0-2 the MTU's index in its kMtus (0 the lowest --mtu,
# 1 and 2 just above, 3 576, 4 1280, 5 1500, 6 4000, 7 9000), 8 offload on what tapsrv sends, 0x10
# trusted checksums on what it receives.
OFFLOAD, TRUSTED = 0x08, 0x10
LOW_CONFIGS = (OFFLOAD | 0, OFFLOAD | 1, OFFLOAD | 2, OFFLOAD | 3, OFFLOAD | 4, 0, 1, 2, 3, 4,
               OFFLOAD | TRUSTED | 6, TRUSTED | 6)


def frame_config_seeds(corpus):
    """fuzz_frame's conversations under offload at 1500 and 9000 and at one MTU from the low end
    or the middle each; a few single frames with trusted checksums."""
    frames = [(n, d) for (t, n), d in corpus.files.items() if t == "fuzz_frame"]
    convs = [(n, d) for n, d in frames if n.startswith("conv-")]
    for i, (name, data) in enumerate(convs):
        tag = name.rsplit("-", 1)[0]
        for config in (OFFLOAD | 5, OFFLOAD | TRUSTED | 7, LOW_CONFIGS[i % len(LOW_CONFIGS)]):
            corpus.add("fuzz_frame_config", "%02x-%s" % (config, tag), bytes([config]) + data)
    singles = [(n, d) for n, d in frames if not n.startswith("conv-")]
    for i, (name, data) in enumerate(singles[:8]):
        config = (TRUSTED if i % 2 else OFFLOAD | TRUSTED) | 5
        corpus.add("fuzz_frame_config", "%02x-frame" % config, bytes([config]) + data)


def active_seeds(corpus):
    """fuzz_tcp_active: after the config byte, an open byte (bits 0-3 the peers connected to,
    0x10 no listener, 0x20 ECN asked for in our SYN), then the peers' answers."""
    ts = options_input(None, None, False, (0, 0), [])
    full = options_input(1460, 7, True, (0, 0), [])
    synack = step(1, SYN | ACK, opts=full)
    data = step(2, ACK | PSH, length=64, opts=ts)
    fin = step(0x50, FIN | ACK, opts=ts)
    established = synack + data + fin
    for config in (0x00, 0x02, 0x1C, 0x40, 0x80, 0x03):
        corpus.add("fuzz_tcp_active", "synack-%02x" % config, bytes([config, 0x01]) + established)
    for name, open_byte, script in [
        ("silent", 0x01, b""),
        ("synack-bare", 0x01, step(1, SYN | ACK) + step(2, ACK | PSH, length=64) + step(0x50, FIN | ACK)),
        ("synack-data-fin", 0x01, step(1, SYN | ACK | FIN, length=32, opts=full)),
        ("rst-ack", 0x01, step(1, RST | ACK)),
        ("rst-no-ack", 0x01, step(1, RST) + established),
        ("rst-bad-ack", 0x01, step(1, RST | ACK, ack=100) + established),
        ("bad-ack", 0x01, step(1, SYN | ACK, ack=100, opts=full) + established),
        ("old-ack", 0x01, step(1, ACK, ack=-1) + established),
        ("ack-no-syn", 0x01, step(1, ACK) + established),
        ("simultaneous-ack", 0x01, step(1, SYN, opts=full) + step(2, ACK, opts=ts) + data + fin),
        ("simultaneous-synack", 0x01,
         step(1, SYN, opts=full) + step(2, SYN | ACK, seq=-1, opts=full) + data + fin),
        ("simultaneous-rst", 0x01, step(1, SYN, opts=full) + step(2, RST)),
        ("simultaneous-silent", 0x01, step(1, SYN, opts=full)),
        ("four", 0x0F, b"".join(step(1, SYN | ACK, peer=p, opts=full) for p in range(4))),
        ("no-listener", 0x11, synack + step(1, SYN, peer=1, opts=full) + data + fin),
        ("with-listener", 0x01,
         step(1, SYN, peer=1, opts=full) + step(2, ACK, peer=1, opts=ts) + established),
        ("ecn", 0x21, step(1, SYN | ACK | ECE, opts=full) + data + step(2, ACK | CWR, opts=ts) + fin),
        ("late-synack", 0x01, step(0xC3, SYN | ACK, opts=full) + data + fin),
    ]:
        corpus.add("fuzz_tcp_active", name, bytes([0x00, open_byte]) + script)


def read_corpus(corpus, target):
    d = os.path.join(corpus.out_dir, target)
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            corpus.files[(target, name)] = f.read()


def derived(out_dir):
    """The new targets' seeds only: the others, and fuzz_frame in particular, stay as they are."""
    source = Corpus(out_dir)
    read_corpus(source, "fuzz_frame")
    frame_config_seeds(source)
    active_seeds(source)
    corpus = Corpus(out_dir)
    corpus.files = OrderedDict((k, v) for k, v in source.files.items() if k[0] != "fuzz_frame")
    return corpus


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--derived":
        corpus = derived(sys.argv[2])
        corpus.write()
        print(" ".join("%s" % t for t in sorted({t for t, _ in corpus.files})))
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    records = read_pcap(sys.argv[1])
    corpus = Corpus(sys.argv[2])
    arp, convs = conversations(records)
    frame_seeds(corpus, records, arp, convs)
    segment_seeds(corpus, records)
    script_seeds(corpus, convs)
    handcrafted(corpus)
    frame_config_seeds(corpus)
    active_seeds(corpus)
    corpus.write()
    counts = {}
    for target, _ in corpus.files:
        counts[target] = counts.get(target, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


if __name__ == "__main__":
    main()
