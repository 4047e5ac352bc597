#include "tapsrv/tcp/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <limits>

namespace tapsrv::tcp {

namespace {
constexpr std::uint64_t kSlotMask = TimerWheel::kSlots - 1;
}  // namespace

TimerWheel::Tick TimerWheel::tick_of(Instant t) noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  return ms.count() < 0 ? 0 : static_cast<Tick>(ms.count());
}

Instant TimerWheel::start_of(Tick t) noexcept {
  return Instant{} + std::chrono::milliseconds{static_cast<std::int64_t>(t)};
}

void TimerWheel::schedule(TimerNode& n, Instant deadline) noexcept {
  if (n.armed()) { unlink(n); }
  if (!started_) {
    current_ = tick_of(deadline);
    started_ = true;
  }
  n.deadline = deadline;
  const Tick t = tick_of(deadline);
  if (t <= current_) { return link(n, static_cast<unsigned>(current_ & kSlotMask)); }
  // The finest level whose span still reaches t; a level's slot for the block we are in has
  // been cascaded already, so "reaches" means fewer than kSlots blocks ahead.
  for (unsigned level = 0; level < kLevels; ++level) {
    const unsigned shift = level * kSlotBits;
    if ((t >> shift) - (current_ >> shift) < kSlots) {
      return link(n, level * kSlots + static_cast<unsigned>((t >> shift) & kSlotMask));
    }
  }
  // Beyond the wheel (49 days): park in the farthest slot; it is filed again from there.
  constexpr unsigned kTop = (kLevels - 1) * kSlotBits;
  link(n, (kLevels - 1) * kSlots + static_cast<unsigned>(((current_ >> kTop) - 1) & kSlotMask));
}

void TimerWheel::cancel(TimerNode& n) noexcept {
  if (n.armed()) { unlink(n); }
}

void TimerWheel::link(TimerNode& n, unsigned bucket) noexcept {
  n.bucket = static_cast<std::uint16_t>(bucket);
  n.prev = nullptr;
  n.next = heads_[bucket];
  if (n.next != nullptr) { n.next->prev = &n; }
  heads_[bucket] = &n;
  occupied_[bucket / kSlots][(bucket % kSlots) / 64] |= std::uint64_t{1} << (bucket % 64);
  ++size_;
}

void TimerWheel::unlink(TimerNode& n) noexcept {
  const unsigned bucket = n.bucket;
  if (n.prev != nullptr) {
    n.prev->next = n.next;
  } else {
    heads_[bucket] = n.next;
  }
  if (n.next != nullptr) { n.next->prev = n.prev; }
  if (heads_[bucket] == nullptr) {
    occupied_[bucket / kSlots][(bucket % kSlots) / 64] &= ~(std::uint64_t{1} << (bucket % 64));
  }
  n.prev = n.next = nullptr;
  n.bucket = TimerNode::kUnarmed;
  --size_;
}

void TimerWheel::cascade(unsigned level) noexcept {
  const unsigned bucket =
      level * kSlots + static_cast<unsigned>((current_ >> (level * kSlotBits)) & kSlotMask);
  TimerNode* n = heads_[bucket];
  while (n != nullptr) {
    TimerNode* next = n->next;
    schedule(*n, n->deadline);  // now within a finer level
    n = next;
  }
}

void TimerWheel::collect(Instant now, std::vector<TimerNode*>& due) {
  const auto bucket = static_cast<unsigned>(current_ & kSlotMask);
  TimerNode* n = heads_[bucket];
  while (n != nullptr) {
    TimerNode* next = n->next;
    if (n->deadline <= now) {
      unlink(*n);
      due.push_back(n);
    }
    n = next;
  }
}

void TimerWheel::expire(Instant now, std::vector<TimerNode*>& due) {
  const Tick target = tick_of(now);
  if (!started_) {
    current_ = target;
    started_ = true;
  }
  collect(now, due);
  while (current_ < target) {
    const Tick next = next_event();
    if (next > target) {
      current_ = target;
      break;
    }
    current_ = next;
    for (unsigned level = kLevels - 1; level >= 1; --level) {
      const Tick span = Tick{1} << (level * kSlotBits);
      if (current_ % span == 0) { cascade(level); }
    }
    collect(now, due);
  }
}

TimerWheel::Tick TimerWheel::next_event() const noexcept {
  // The next level-0 slot with timers, or the next block start where a coarser level has a
  // slot to cascade: empty stretches of any length are skipped in one step.
  Tick next = std::numeric_limits<Tick>::max();
  if (const unsigned d = next_occupied(0, static_cast<unsigned>((current_ + 1) & kSlotMask));
      d < kSlots) {
    next = current_ + 1 + d;
  }
  if (const auto cascade = next_cascade()) { next = std::min(next, *cascade); }
  return next;
}

std::optional<TimerWheel::Tick> TimerWheel::next_cascade() const noexcept {
  std::optional<Tick> earliest;
  for (unsigned level = 1; level < kLevels; ++level) {
    const unsigned shift = level * kSlotBits;
    const auto block = static_cast<unsigned>((current_ >> shift) & kSlotMask);
    const unsigned d = next_occupied(level, (block + 1) & static_cast<unsigned>(kSlotMask));
    if (d == kSlots) { continue; }
    const Tick start = ((current_ >> shift) + 1 + d) << shift;
    if (!earliest || start < *earliest) { earliest = start; }
  }
  return earliest;
}

unsigned TimerWheel::next_occupied(unsigned level, unsigned from) const noexcept {
  const auto& words = occupied_[level];
  // Word by word from `from`, wrapping round; the first word is looked at again at the end for
  // the bits below `from`.
  for (unsigned d = 0; d < kSlots;) {
    const unsigned slot = (from + d) & static_cast<unsigned>(kSlotMask);
    const std::uint64_t word = words[slot / 64] >> (slot % 64);
    if (word != 0) {
      d += static_cast<unsigned>(std::countr_zero(word));
      return d < kSlots ? d : kSlots;
    }
    d += 64 - slot % 64;
  }
  return kSlots;
}

std::optional<Instant> TimerWheel::earliest_in(unsigned bucket) const noexcept {
  std::optional<Instant> best;
  for (const TimerNode* n = heads_[bucket]; n != nullptr; n = n->next) {
    if (!best || n->deadline < *best) { best = n->deadline; }
  }
  return best;
}

std::optional<Instant> TimerWheel::next_deadline() const noexcept {
  if (size_ == 0) { return std::nullopt; }
  std::optional<Instant> best;
  const auto here = static_cast<unsigned>(current_ & kSlotMask);
  if (const unsigned d = next_occupied(0, here); d < kSlots) {
    best = earliest_in((here + d) & static_cast<unsigned>(kSlotMask));
  }
  // Everything in a coarser level is due no earlier than the start of its block.
  if (const auto cascade = next_cascade()) {
    const Instant bound = start_of(*cascade);
    if (!best || bound < *best) { best = bound; }
  }
  return best;
}

void TimerWheel::clear() noexcept {
  for (auto& head : heads_) {
    for (TimerNode* n = head; n != nullptr;) {
      TimerNode* next = n->next;
      n->prev = n->next = nullptr;
      n->bucket = TimerNode::kUnarmed;
      n = next;
    }
    head = nullptr;
  }
  occupied_ = {};
  size_ = 0;
}

}  // namespace tapsrv::tcp
