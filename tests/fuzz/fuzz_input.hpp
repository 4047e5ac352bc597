// What the fuzz targets share: a reader over the fuzzer's bytes, the time-step encoding, and the
// abort that turns a broken invariant into a crash libFuzzer keeps.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>

#include "tapsrv/core/time.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::fuzz {

/// Reads the input front to back. Past the end every read gives zeros, so a short input is still
/// a complete (if dull) one and the targets need no length checks of their own.
class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) noexcept
      : bytes_{std::as_bytes(std::span{data, size})} {}
  explicit FuzzInput(wire::Bytes b) noexcept : bytes_{b} {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= bytes_.size(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  std::uint8_t u8() noexcept { return empty() ? 0 : wire::load_u8(bytes_, pos_++); }
  std::uint16_t be16() noexcept {
    const auto hi = u8();
    return static_cast<std::uint16_t>((hi << 8) | u8());
  }
  std::uint32_t be32() noexcept {
    const std::uint32_t hi = be16();
    return (hi << 16) | be16();
  }
  /// Up to `n` bytes, fewer at the end of the input; the span borrows the input.
  wire::Bytes take(std::size_t n) noexcept {
    const std::size_t k = n < remaining() ? n : remaining();
    const auto out = bytes_.subspan(pos_, k);
    pos_ += k;
    return out;
  }

 private:
  wire::Bytes bytes_;
  std::size_t pos_ = 0;
};

/// One byte of clock advance: six bits of mantissa times 100 µs, 1 ms, 10 ms or 1 s, so that a
/// single byte reaches both the 40 ms delayed ACK and the minute-long timers.
inline Duration time_step(std::uint8_t b) noexcept {
  static constexpr std::int64_t kUnitUs[] = {100, 1000, 10'000, 1'000'000};
  return Duration{std::int64_t{b & 0x3f} * kUnitUs[b >> 6]};
}

/// Moves `now` by `d` the way the event loop does: it wakes at every deadline on the way (at most
/// `max_wakeups` of them, so a run stays short) and once more at the end. `deadline()` gives the
/// next deadline; `wake()` runs the timers at `now`.
template <class Deadline, class Wake>
void advance_clock(Instant& now, Duration d, int max_wakeups, Deadline deadline, Wake wake) {
  const Instant target = now + d;
  for (int i = 0; i < max_wakeups; ++i) {
    const std::optional<Instant> next = deadline();
    if (!next || *next > target) { break; }
    now = std::max(now, *next);
    wake();
  }
  now = std::max(now, target);
  wake();
}

/// The file being replayed (the replay test sets it), for require()'s message: an abort ends
/// the test binary before doctest could name the input.
inline const char*& replaying() noexcept {
  static const char* path = nullptr;
  return path;
}

/// An invariant of the code under test: on failure, say which and abort, which libFuzzer records
/// as a crash with its input (and the replay test reports as a failed test).
/// (The builtins stand in for std::source_location, which clang 14 lacks with libstdc++ 12.)
inline void require(bool ok, const char* what, long long a = 0, long long b = 0,
                    const char* file = __builtin_FILE(), int line = __builtin_LINE()) noexcept {
  if (ok) { return; }
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s (%lld, %lld)\n", file, line, what, a, b);
  if (replaying() != nullptr) { std::fprintf(stderr, "while replaying %s\n", replaying()); }
  std::abort();
}

}  // namespace tapsrv::fuzz
