// TCP sequence numbers: arithmetic and comparison modulo 2^32 (RFC 9293 §3.4).
#pragma once

#include <cstdint>

namespace tapsrv::wire {

/// No operator<=>: sequence space is not totally ordered, so only the comparisons that hold
/// within half the space (2^31) are offered.
struct SeqNum {
  std::uint32_t raw = 0;

  friend constexpr SeqNum operator+(SeqNum s, std::uint32_t n) noexcept { return {s.raw + n}; }
  friend constexpr SeqNum operator-(SeqNum s, std::uint32_t n) noexcept { return {s.raw - n}; }
  /// Signed distance a - b; meaningful when the two are within 2^31 of each other.
  friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) noexcept {
    return static_cast<std::int32_t>(a.raw - b.raw);
  }
  friend constexpr bool operator<(SeqNum a, SeqNum b) noexcept { return a - b < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) noexcept { return a - b <= 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) noexcept { return a - b > 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) noexcept { return a - b >= 0; }
  friend constexpr bool operator==(SeqNum, SeqNum) noexcept = default;
  SeqNum& operator+=(std::uint32_t n) noexcept {
    raw += n;
    return *this;
  }
};

/// begin <= x < begin + len (mod 2^32), like gVisor's seqnum.InRange.
constexpr bool in_window(SeqNum x, SeqNum begin, std::uint32_t len) noexcept {
  return x.raw - begin.raw < len;
}

}  // namespace tapsrv::wire
