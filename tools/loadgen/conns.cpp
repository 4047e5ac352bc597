// conns (connection set-up rate) and latency (1-byte ping-pong): small messages, TCP_NODELAY,
// so what is measured is the stack's per-packet and per-connection cost, not batching.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "common.hpp"

namespace loadgen {
namespace {

constexpr std::size_t kMessage = 16;

// One connection's life: connect, 16 bytes there and back (checked), close. Empty on success.
std::string one_connection(const sockaddr_in& to, const Stream& stream, std::uint64_t i) {
  const int fd = tcp_connect(to, nullptr, true, 5);
  if (fd < 0) { return std::string("connect: ") + std::strerror(errno); }
  std::byte reply[kMessage];
  std::string error;
  const std::byte* msg = stream.at(i * kMessage);  // differs per connection
  if (!write_all(fd, msg, kMessage)) {
    error = std::string("send: ") + std::strerror(errno);
  } else if (!read_exact(fd, reply, kMessage)) {
    error = errno == 0 ? "closed before the echo" : std::string("read: ") + std::strerror(errno);
  } else if (std::memcmp(reply, msg, kMessage) != 0) {
    error = "wrong echo";
  }
  ::close(fd);
  return error;
}

}  // namespace

int conns(const sockaddr_in& to, std::uint64_t count, unsigned concurrency) {
  const auto stream = Stream::pseudo_random();
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex first_error_mutex;
  std::string first_error;
  const auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      for (std::uint64_t i = next++; i < count; i = next++) {
        if (auto e = one_connection(to, stream, i); !e.empty()) {
          ++failed;
          const std::lock_guard lock(first_error_mutex);
          if (first_error.empty()) { first_error = std::move(e); }
        }
      }
    });
  }
  for (auto& t : workers) { t.join(); }
  const double s = seconds_since(t0);
  std::printf("result conns count=%llu concurrency=%u failed=%llu seconds=%.6f rate=%.1f\n",
              static_cast<unsigned long long>(count), concurrency,
              static_cast<unsigned long long>(failed.load()), s,
              static_cast<double>(count - failed) / s);
  if (failed > 0) {
    std::fprintf(stderr, "error: %llu of %llu connections failed; first: %s\n",
                 static_cast<unsigned long long>(failed.load()),
                 static_cast<unsigned long long>(count), first_error.c_str());
    return 1;
  }
  return 0;
}

int latency(const sockaddr_in& to, std::uint64_t count) {
  if (count == 0) { die("latency needs COUNT >= 1"); }
  const int fd = tcp_connect_or_die(to, true);
  std::vector<double> us;
  us.reserve(count);
  // A few untimed round trips first: ARP, slow start and cold caches are not what we measure.
  const std::uint64_t warmup = std::min<std::uint64_t>(count / 10 + 1, 100);
  for (std::uint64_t i = 0; i < warmup + count; ++i) {
    const auto ping = static_cast<std::byte>(i);
    std::byte pong{};
    const auto t0 = Clock::now();
    if (!write_all(fd, &ping, 1)) { die_errno("send"); }
    if (!read_exact(fd, &pong, 1)) { die_errno("read"); }
    if (pong != ping) { die("wrong echo"); }
    if (i >= warmup) { us.push_back(seconds_since(t0) * 1e6); }
  }
  ::close(fd);
  std::sort(us.begin(), us.end());
  // Nearest-rank percentiles: the smallest sample with at least p% of samples at or below it.
  const auto rank = [&](double p) {
    const auto k = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(us.size())));
    return us[std::max<std::size_t>(k, 1) - 1];
  };
  std::printf("result latency count=%llu p50_us=%.2f p99_us=%.2f max_us=%.2f\n",
              static_cast<unsigned long long>(count), rank(50), rank(99), us.back());
  return 0;
}

}  // namespace loadgen
