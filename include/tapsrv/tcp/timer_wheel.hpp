// A hierarchical timing wheel (Varghese and Lauck, 1987; the structure of Linux's timers) for
// the connections' deadlines: O(1) to arm, move or cancel a timer, nothing allocated, and the
// same cost with ten connections or a million.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "tapsrv/core/time.hpp"

namespace tapsrv::tcp {

class Connection;

/// Lives inside what it times (intrusive), so arming a timer never allocates.
struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  Instant deadline{};
  Connection* owner = nullptr;
  std::uint16_t bucket = kUnarmed;  // level * kSlots + slot
  static constexpr std::uint16_t kUnarmed = 0xffff;
  [[nodiscard]] bool armed() const noexcept { return bucket != kUnarmed; }
};

class TimerWheel {
 public:
  static constexpr unsigned kLevels = 4;
  static constexpr unsigned kSlotBits = 8;
  static constexpr unsigned kSlots = 1U << kSlotBits;  // level L slots span 256^L ms each

  /// Arms (or moves) `n` to fire at `deadline`.
  void schedule(TimerNode& n, Instant deadline) noexcept;
  void cancel(TimerNode& n) noexcept;
  /// Moves the wheel to `now` and appends every timer due by then (deadline <= now) to `due`,
  /// disarming it. Precondition: `now` never goes back.
  void expire(Instant now, std::vector<TimerNode*>& due);
  /// No later than the earliest deadline, and exactly it when that lies in the same 256 ms block
  /// as the last expire() (else possibly the start of a later block, where a coarser level
  /// cascades: waking then costs one cascade, never a missed timer).
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Disarms everything.
  void clear() noexcept;

 private:
  using Tick = std::uint64_t;  // milliseconds
  static Tick tick_of(Instant t) noexcept;
  static Instant start_of(Tick t) noexcept;
  void link(TimerNode& n, unsigned bucket) noexcept;
  void unlink(TimerNode& n) noexcept;
  /// Re-files the timers of level `level`'s slot for the block that begins at current_.
  void cascade(unsigned level) noexcept;
  /// Takes what is due from the level-0 slot of current_; re-files what is not.
  void collect(Instant now, std::vector<TimerNode*>& due);
  [[nodiscard]] std::optional<Instant> earliest_in(unsigned bucket) const noexcept;
  /// The next tick after current_ at which expire() has anything to do.
  [[nodiscard]] Tick next_event() const noexcept;
  /// The start of the nearest later block of a coarser level that holds timers, if any.
  [[nodiscard]] std::optional<Tick> next_cascade() const noexcept;
  /// Ring distance from slot `from` to the first occupied slot of `level` (from included), or
  /// kSlots when the level is empty.
  [[nodiscard]] unsigned next_occupied(unsigned level, unsigned from) const noexcept;

  std::array<TimerNode*, kLevels * kSlots> heads_{};
  std::array<std::array<std::uint64_t, kSlots / 64>, kLevels> occupied_{};
  Tick current_ = 0;  // every tick up to and including this one has been processed
  bool started_ = false;
  std::size_t size_ = 0;
};

}  // namespace tapsrv::tcp
