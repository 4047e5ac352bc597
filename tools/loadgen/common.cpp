#include "common.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace loadgen {

void die(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", what.c_str());
  // _Exit, not exit: other threads may still be running and static destructors would race them.
  std::_Exit(1);
}

void die_errno(const std::string& what) {
  die(what + ": " + (errno == EAGAIN ? "timed out" : std::strerror(errno)));
}

std::uint64_t parse_count(std::string_view s, const char* what) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string_view rest(end, static_cast<std::size_t>(s.data() + s.size() - end));
  int shift = 0;
  if (rest == "K" || rest == "k") { shift = 10; }
  if (rest == "M") { shift = 20; }
  if (rest == "G") { shift = 30; }
  if (ec != std::errc{} || (!rest.empty() && shift == 0) || v > (UINT64_MAX >> shift)) {
    die("bad " + std::string(what) + " '" + std::string(s) + "'");
  }
  return v << shift;
}

sockaddr_in parse_endpoint(const std::string& host, const std::string& port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) { die("bad IPv4 address " + host); }
  const auto p = parse_count(port, "port");
  if (p == 0 || p > 65535) { die("bad port " + port); }
  a.sin_port = htons(static_cast<std::uint16_t>(p));
  return a;
}

int tcp_connect(const sockaddr_in& to, const sockaddr_in* from, bool nodelay, int timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) { return -1; }
  const int one = 1;
  const timeval tv{.tv_sec = timeout_s, .tv_usec = 0};
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;  // also bounds connect
  if (ok && nodelay) { ok = ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0; }
  if (ok && from != nullptr) {
    ok = ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) == 0 &&
         ::bind(fd, reinterpret_cast<const sockaddr*>(from), sizeof *from) == 0;
  }
  if (ok) { ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0; }
  if (!ok) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int tcp_connect_or_die(const sockaddr_in& to, bool nodelay) {
  const int fd = tcp_connect(to, nullptr, nodelay, 10);
  if (fd < 0) { die_errno("connect"); }
  return fd;
}

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) { continue; }
    if (w <= 0) { return false; }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_exact(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) { continue; }
    if (r <= 0) {
      if (r == 0) { errno = 0; }
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

Stream::Stream(std::vector<std::byte> one_period) : period_(one_period.size()) {
  // One period plus kChunk more, so at(offset) is contiguous for a whole chunk.
  table_.reserve(period_ + kChunk);
  while (table_.size() < period_ + kChunk) {
    table_.insert(table_.end(), one_period.begin(), one_period.end());
  }
}

Stream Stream::pseudo_random() {
  std::vector<std::byte> b(65521);
  std::uint32_t x = 0x9e3779b9;
  for (auto& v : b) {
    x ^= x << 13;  // xorshift32: cheap, and no run of bytes repeats within the period
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::byte>(x >> 24);
  }
  return Stream(std::move(b));
}

Stream Stream::chargen() {
  std::vector<std::byte> b;
  for (int line = 0; line < 95; ++line) {
    for (int i = 0; i < 72; ++i) { b.push_back(static_cast<std::byte>(' ' + (line + i) % 95)); }
    b.push_back(std::byte{'\r'});
    b.push_back(std::byte{'\n'});
  }
  return Stream(std::move(b));
}

bool Stream::matches(std::uint64_t offset, const std::byte* p, std::size_t n) const {
  return n <= kChunk && std::memcmp(at(offset), p, n) == 0;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace loadgen
