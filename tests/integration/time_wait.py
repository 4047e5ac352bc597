"""HTTP connections in a row at full speed: tapsrv closes each first, so each leaves a TIME_WAIT
behind on tapsrv's side.

Usage: time_wait.py HOST PORT COUNT SECONDS. Makes COUNT connections one after the other (GET /,
read the whole answer until tapsrv's FIN, close), each with a 5 s timeout, for SECONDS at most.
Counts refusals (ECONNREFUSED: an RST to our SYN), resets, timeouts and bad answers; prints
"connections=N refused=R reset=S timeouts=T bad=B seconds=X rate=Y" and exits 1 unless all
COUNT were answered with 200 and nothing went wrong.
"""
import socket
import sys
import time

from packets import recv_to_eof

host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
REQUEST = b"GET / HTTP/1.1\r\nHost: tapsrv\r\n\r\n"
done = refused = reset = timeouts = bad = 0
start = time.monotonic()
deadline = start + seconds
while done + refused + reset + timeouts + bad < count and time.monotonic() < deadline:
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        s.sendall(REQUEST)
        answer = recv_to_eof(s)
        if answer.startswith(b"HTTP/1.1 200 "):
            done += 1
        else:
            bad += 1
    except ConnectionRefusedError:
        refused += 1
    except ConnectionResetError:
        reset += 1
    except (socket.timeout, TimeoutError):
        timeouts += 1
    finally:
        s.close()
elapsed = time.monotonic() - start
print(f"connections={done} refused={refused} reset={reset} timeouts={timeouts} bad={bad} "
      f"seconds={elapsed:.1f} rate={done / elapsed:.0f}/s")
sys.exit(0 if done == count else 1)
