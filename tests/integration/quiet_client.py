"""Kernel TCP clients that go quiet, for tapsrv's keepalive and user-timeout tests.

Usage: quiet_client.py MODE HOST PORT SECONDS. Prints "ready" once its connection is in the
state the test wants, then keeps the socket open for at most SECONDS and exits 0; the test
makes the client's namespace vanish meanwhile (nftables drops all its TCP). Every socket has a
timeout and every loop a deadline, so nothing here can hang.
  idle    connect (echo), one round trip, then send and read nothing: only keepalive talks
  drain   connect (chargen) and read everything: tapsrv always has data in flight
  stall   a 4 KiB receive buffer, connect (chargen), read nothing: tapsrv meets a zero window
"""
import socket
import sys
import time


def main() -> int:
    mode, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    deadline = time.monotonic() + seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mode == "stall":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10.0)
    s.connect((host, port))
    if mode == "idle":
        s.sendall(b"hello\n")
        got = b""
        while len(got) < 6:
            chunk = s.recv(64)
            if not chunk:
                print("echo closed early")
                return 1
            got += chunk
        if got != b"hello\n":
            print(f"echo returned {got!r}")
            return 1
    elif mode == "drain":
        if len(s.recv(65536)) == 0:
            print("chargen closed early")
            return 1
    elif mode == "stall":
        time.sleep(0.5)  # tapsrv fills the window meanwhile
    else:
        print(f"unknown mode {mode}")
        return 2
    print("ready", flush=True)
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        if mode == "drain":
            try:
                if not s.recv(65536):
                    break
            except (socket.timeout, OSError):
                pass
        else:
            time.sleep(0.1)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
