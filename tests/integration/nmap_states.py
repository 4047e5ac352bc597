"""Checks nmap's grepable output (-oG) against the state every port must have.

Usage: nmap_states.py FILE PORTS OPEN_PORTS OPEN_STATE OTHER_STATE. PORTS is nmap's list (e.g.
1-1024,3333); each of OPEN_PORTS (comma-separated) must be reported as OPEN_STATE and every other
port as OTHER_STATE.
Ports nmap folds into "Ignored State: S (N)" take S. Prints one line; exits 1 on a mismatch.
"""
import re
import sys

path, ports_text, open_text, open_state, other_state = sys.argv[1:6]
ports = set()
for part in ports_text.split(","):
    lo, _, hi = part.partition("-")
    ports.update(range(int(lo), int(hi or lo) + 1))
open_ports = {int(p) for p in open_text.split(",")}

text = open(path).read()
line = next((l for l in text.splitlines() if "\tPorts: " in l or l.endswith("Ports: ")), None)
if line is None:
    print(f"no Ports line in {path}:\n{text}")
    sys.exit(1)
states = {}
listed = line.split("Ports: ", 1)[1].split("\t")[0]
for item in filter(None, (s.strip() for s in listed.split(","))):
    port, state = item.split("/")[:2]
    states[int(port)] = state
ignored = re.search(r"Ignored State: (\S+) \((\d+)\)", line)
if ignored:
    rest = ports - states.keys()
    if len(rest) != int(ignored.group(2)):
        print(f"{len(rest)} ports unlisted but nmap ignored {ignored.group(2)}: {line}")
        sys.exit(1)
    states.update({p: ignored.group(1) for p in rest})
want = {p: other_state for p in ports}
want.update({p: open_state for p in open_ports})
wrong = {p: states.get(p) for p in ports if states.get(p) != want[p]}
if wrong:
    shown = ", ".join(f"{p}: {s} (want {want[p]})" for p, s in sorted(wrong.items())[:8])
    print(f"{len(wrong)} ports differ: {shown}")
    sys.exit(1)
print(f"{open_text} {open_state}, the other {len(ports) - len(open_ports)} {other_state}")
