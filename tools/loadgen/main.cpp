// tapsrv-loadgen: the one client tools/bench runs against tapsrv and against the kernel, so both
// sides see exactly the same traffic. Blocking sockets and threads: simple, and at these message
// sizes the syscalls are not what limits us.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common.hpp"

namespace {

constexpr const char* kUsage = R"(usage: tapsrv-loadgen COMMAND HOST PORT ...
  upload   HOST PORT BYTES [--time-limit S]
                                        send BYTES to a discard server, wait for its close
  download HOST PORT BYTES [--time-limit S]
                                        read BYTES from a chargen server, checking RFC 864 lines
  echo     HOST PORT BYTES              send BYTES to an echo server and check every byte back
  conns    HOST PORT COUNT CONCURRENCY  COUNT x (connect, 16-byte echo, close) on CONCURRENCY threads
  latency  HOST PORT COUNT              COUNT 1-byte round trips on one connection: p50, p99
  hold     HOST PORT COUNT [--src-prefix A.B.C.D/LEN]
                                        open COUNT connections, print "held N", keep them open
                                        until a line on stdin or SIGTERM
BYTES and COUNT take a K, M or G suffix (binary). Prints one "result ..." line; exits 1 on any
error or wrong byte. --time-limit S: a transfer not done after S seconds stops there and reports
the bytes that arrived (for an upload, those the server acknowledged) with finished=0.
)";

[[noreturn]] void usage_error() {
  std::fputs(kUsage, stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loadgen;
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 4) { usage_error(); }
  std::signal(SIGPIPE, SIG_IGN);  // a peer's reset must be an error we report, not a silent death
  const auto& cmd = a[0];
  if (cmd != "upload" && cmd != "download" && cmd != "echo" && cmd != "latency" && cmd != "conns" &&
      cmd != "hold") {
    usage_error();
  }
  const auto to = parse_endpoint(a[1], a[2]);
  const auto n = parse_count(a[3], "count");
  const bool bulk = cmd == "upload" || cmd == "download";
  std::optional<std::uint64_t> limit;
  if (bulk && a.size() == 6 && a[4] == "--time-limit") {
    limit = parse_count(a[5], "time limit");
    if (*limit == 0) { die("--time-limit must be at least 1 second"); }
  } else if (bulk && a.size() != 4) {
    usage_error();
  }
  if (cmd == "upload") { return upload(to, n, limit); }
  if (cmd == "download") { return download(to, n, limit); }
  if (cmd == "echo" && a.size() == 4) { return echo(to, n); }
  if (cmd == "latency" && a.size() == 4) { return latency(to, n); }
  if (cmd == "conns" && a.size() == 5) {
    const auto c = parse_count(a[4], "concurrency");
    if (c < 1 || c > 1024) { die("concurrency must be 1..1024"); }
    return conns(to, n, static_cast<unsigned>(c));
  }
  if (cmd == "hold" && a.size() == 4) { return hold(to, n, std::nullopt); }
  if (cmd == "hold" && a.size() == 6 && a[4] == "--src-prefix") { return hold(to, n, a[5]); }
  usage_error();
}
