// The engine-wide account of buffer storage: every send and receive ring charges the bytes it
// holds here (Linux tcp_mem: net/ipv4/tcp.c tcp_init_mem, net/core/sock.c
// __sk_mem_raise_allocated). Below the pressure mark buffers grow freely; above it send buffers
// stop autotuning and receive windows stop opening past the storage already held; at the limit
// no ring grows, so new data waits and segments that would need more storage are dropped (and
// resent by the peer), except that each ring may always hold kGuaranteed bytes, as Linux lets
// every socket keep tcp_wmem[0] / tcp_rmem[0] under any pressure, so no connection starves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tapsrv::tcp {

class BufferBudget {
 public:
  static constexpr std::size_t kGuaranteed = 4096;  // Linux tcp_wmem[0], tcp_rmem[0]

  /// Pressure starts at two thirds of the limit, where Linux's tcp_mem[1] sits below tcp_mem[2].
  explicit BufferBudget(std::size_t limit) noexcept : limit_{limit}, pressure_{limit / 3 * 2} {}

  /// Whether a ring holding `held` bytes may hold `held + n`; if so they are charged.
  [[nodiscard]] bool charge(std::size_t held, std::size_t n) noexcept {
    if (used_ + n > limit_ && held + n > kGuaranteed) {
      ++refusals_;
      return false;
    }
    if (!under_pressure() && used_ + n >= pressure_) { ++pressure_entries_; }
    used_ += n;
    peak_ = std::max(peak_, used_);
    return true;
  }
  void uncharge(std::size_t n) noexcept { used_ -= std::min(n, used_); }

  /// Whether a ring holding `held` bytes could grow by `n` now (charge() without charging).
  [[nodiscard]] bool allows(std::size_t held, std::size_t n) const noexcept {
    return used_ + n <= limit_ || held + n <= kGuaranteed;
  }
  [[nodiscard]] bool under_pressure() const noexcept { return used_ >= pressure_; }

  [[nodiscard]] std::size_t used() const noexcept { return used_; }
  [[nodiscard]] std::size_t peak() const noexcept { return peak_; }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  [[nodiscard]] std::size_t pressure_mark() const noexcept { return pressure_; }
  /// Times usage crossed the pressure mark going up (Linux's TCPMemoryPressures).
  [[nodiscard]] std::uint64_t pressure_entries() const noexcept { return pressure_entries_; }
  /// Growths refused at the limit.
  [[nodiscard]] std::uint64_t refusals() const noexcept { return refusals_; }

 private:
  std::size_t limit_;
  std::size_t pressure_;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  std::uint64_t pressure_entries_ = 0;
  std::uint64_t refusals_ = 0;
};

}  // namespace tapsrv::tcp
