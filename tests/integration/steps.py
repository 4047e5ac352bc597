"""What the memory-bound scripts (limits.py, mem_limit.py) share: reading a process's RSS and
printing one checked step per line (imported, not run)."""


def rss_bytes(pid: int) -> int:
    """The process's resident set (VmRSS) in bytes."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) * 1024


class Steps:
    """Prints each step, prefixed 'FAILED: ' when its check did not hold; remembers failures."""

    def __init__(self):
        self.failed = False

    def check(self, ok: bool, line: str):
        print(("" if ok else "FAILED: ") + line, flush=True)
        self.failed |= not ok
