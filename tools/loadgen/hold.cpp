// hold: open COUNT connections and keep them open, so the caller can look at the server's memory.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

#include "commands.hpp"
#include "common.hpp"

namespace loadgen {
namespace {

// The addresses of PREFIX/LEN without its first and last (network and broadcast when the prefix
// is a subnet of its own); all of them for /31 and /32.
std::vector<sockaddr_in> prefix_addresses(const std::string& prefix) {
  const auto slash = prefix.find('/');
  in_addr base{};
  if (slash == std::string::npos ||
      inet_pton(AF_INET, prefix.substr(0, slash).c_str(), &base) != 1) {
    die("bad --src-prefix " + prefix + " (want A.B.C.D/LEN)");
  }
  const auto len = parse_count(prefix.substr(slash + 1), "prefix length");
  if (len < 8 || len > 32) { die("--src-prefix length must be 8..32"); }
  const std::uint32_t size = len == 32 ? 1 : 1u << (32 - len);
  const std::uint32_t first = ntohl(base.s_addr) & ~(size - 1);
  const std::uint32_t skip = size > 2 ? 1 : 0;
  std::vector<sockaddr_in> out;
  for (std::uint32_t i = skip; i < size - skip; ++i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(first + i);
    out.push_back(a);
  }
  return out;
}

// Every connection is a file descriptor: take the whole hard limit, or say why we cannot.
void ensure_fds(std::uint64_t count) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) { die_errno("getrlimit"); }
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) { die_errno("setrlimit"); }
  if (count + 32 > r.rlim_cur) {
    die("hold " + std::to_string(count) + " needs that many file descriptors; the limit is " +
        std::to_string(r.rlim_cur) + " (run several hold processes)");
  }
}

volatile std::sig_atomic_t g_release = 0;
void on_signal(int) { g_release = 1; }

// Until SIGTERM, SIGINT or a line on stdin. EOF on stdin (a background job's /dev/null) only
// means nobody will write, so then we wait for the signal. ppoll with the signals blocked
// outside it leaves no window in which a signal could be missed.
void wait_for_release() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  sigset_t blocked, during_wait;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ::sigprocmask(SIG_BLOCK, &blocked, &during_wait);
  bool stdin_open = true;
  while (g_release == 0) {
    pollfd p{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
    if (::ppoll(&p, stdin_open ? 1 : 0, nullptr, &during_wait) <= 0) { continue; }
    char c = 0;
    if (::read(STDIN_FILENO, &c, 1) <= 0) {
      stdin_open = false;
    } else if (c == '\n') {
      break;
    }
  }
}

}  // namespace

int hold(const sockaddr_in& to, std::uint64_t count, const std::optional<std::string>& src_prefix) {
  ensure_fds(count);
  const auto sources = src_prefix ? prefix_addresses(*src_prefix) : std::vector<sockaddr_in>{};
  std::vector<int> fds;
  fds.reserve(count);
  std::string first_error;
  int consecutive_failures = 0;
  const auto t0 = Clock::now();
  // One at a time: the point is how many a server can hold, not how fast they arrive.
  for (std::uint64_t i = 0; i < count && consecutive_failures < 100; ++i) {
    const sockaddr_in* from = sources.empty() ? nullptr : &sources[i % sources.size()];
    const int fd = tcp_connect(to, from, true, 5);
    if (fd < 0) {
      if (first_error.empty()) { first_error = std::string("connect: ") + std::strerror(errno); }
      ++consecutive_failures;  // a server at its limit: stop soon rather than time out 5 s each
      continue;
    }
    consecutive_failures = 0;
    fds.push_back(fd);
  }
  // A completed handshake only shows the peer's TCP took the connection; one byte echoed on
  // each shows the server has it too (the kernel reference has accepted it, for instance).
  const std::byte ping{0x5a};
  for (int& fd : fds) {
    if (!write_all(fd, &ping, 1)) {
      if (first_error.empty()) { first_error = std::string("send: ") + std::strerror(errno); }
      ::close(fd);
      fd = -1;
    }
  }
  std::uint64_t held = 0;
  // A million pings arrive at once: the last echo may come well after connect's 5 s timeout.
  const timeval patient{.tv_sec = 60, .tv_usec = 0};
  for (int& fd : fds) {
    std::byte pong{};
    if (fd < 0) { continue; }
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patient, sizeof patient);
    if (!read_exact(fd, &pong, 1) || pong != ping) {
      if (first_error.empty()) { first_error = "no echo on a held connection"; }
      ::close(fd);
      fd = -1;
      continue;
    }
    ++held;
  }
  const double s = seconds_since(t0);
  std::printf("held %llu\nresult hold requested=%llu held=%llu failed=%llu seconds=%.6f\n",
              static_cast<unsigned long long>(held), static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(held), static_cast<unsigned long long>(count - held),
              s);
  std::fflush(stdout);
  if (held < count) {
    std::fprintf(stderr, "error: held %llu of %llu; first failure: %s\n",
                 static_cast<unsigned long long>(held), static_cast<unsigned long long>(count),
                 first_error.c_str());
  }
  wait_for_release();
  for (const int fd : fds) {
    if (fd >= 0) { ::close(fd); }
  }
  return held == count ? 0 : 1;
}

}  // namespace loadgen
