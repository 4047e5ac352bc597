// Shared by tapsrv-loadgen's subcommands: argument parsing, blocking sockets with time limits,
// and the byte streams the bulk tests send and verify.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

// The largest single read or write; big enough that syscall cost vanishes at 10+ Gbit/s.
constexpr std::size_t kChunk = 1 << 20;

// Prints "error: WHAT" and ends the process at once (also from a worker thread).
[[noreturn]] void die(const std::string& what);
// The same with ": strerror(errno)" appended.
[[noreturn]] void die_errno(const std::string& what);

// A byte count or count: decimal with an optional binary suffix K, M or G ("1G" = 2^30).
std::uint64_t parse_count(std::string_view s, const char* what);
sockaddr_in parse_endpoint(const std::string& host, const std::string& port);

// A connected blocking TCP socket, or -1 with errno set. Every later blocking call on it fails
// with EAGAIN after `timeout_s` so a stalled peer becomes an error rather than a hang. With
// `from`, binds that source address first; the port is left to connect() (IP_BIND_ADDRESS_NO_PORT)
// so each source address gets its own ephemeral port space per destination.
int tcp_connect(const sockaddr_in& to, const sockaddr_in* from, bool nodelay, int timeout_s);
int tcp_connect_or_die(const sockaddr_in& to, bool nodelay);

// Whole transfers or false (errno set; EAGAIN means the time limit passed, 0 means EOF).
bool write_all(int fd, const std::byte* p, std::size_t n);
bool read_exact(int fd, std::byte* p, std::size_t n);

// An endless periodic byte stream. at(offset) points at the stream's bytes from `offset` on,
// valid for at least kChunk bytes, so sending or checking any piece is one call.
class Stream {
 public:
  static Stream pseudo_random();  // period 65521 (prime), so a shifted stream never matches
  static Stream chargen();        // RFC 864: 95 lines of 72 characters + CR LF, then it repeats
  const std::byte* at(std::uint64_t offset) const { return table_.data() + offset % period_; }
  bool matches(std::uint64_t offset, const std::byte* p, std::size_t n) const;

 private:
  Stream(std::vector<std::byte> one_period);
  std::size_t period_;
  std::vector<std::byte> table_;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0);

}  // namespace loadgen
