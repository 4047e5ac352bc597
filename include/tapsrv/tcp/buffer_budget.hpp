// The engine-wide allowance for send buffers grown past their initial size (Linux tcp_mem's
// role for tcp_wmem autotuning): growth stops when it is spent, so many fast connections
// cannot take the machine's memory.
#pragma once

#include <algorithm>
#include <cstddef>

namespace tapsrv::tcp {

class BufferBudget {
 public:
  explicit BufferBudget(std::size_t limit) noexcept : limit_{limit} {}
  /// Takes up to `want` bytes; returns how many were granted.
  std::size_t take(std::size_t want) noexcept {
    const std::size_t granted = std::min(want, limit_ - used_);
    used_ += granted;
    return granted;
  }
  void give_back(std::size_t n) noexcept { used_ -= std::min(n, used_); }
  [[nodiscard]] std::size_t used() const noexcept { return used_; }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

}  // namespace tapsrv::tcp
