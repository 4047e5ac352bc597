// Frames waiting to be written to the TAP, in order, in buffers reused from one batch to the next.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::link {

/// After warm-up a steady state allocates nothing: clear() keeps buffers for reuse. A burst
/// does not pin its buffers forever, though: every kTrimInterval batches, the frames beyond
/// the largest batch of that interval (and beyond kKeepFrames) are freed, as Linux frees each
/// skb once sent and keeps only small per-CPU caches.
class TxQueue {
 public:
  /// Frames kept whatever the recent batches were (a run-loop wake-up reads up to 256 frames;
  /// most answer with far fewer).
  static constexpr std::size_t kKeepFrames = 64;
  /// Batches (clear() calls) over which the largest is remembered.
  static constexpr std::size_t kTrimInterval = 1024;

  /// Appends a frame of `len` bytes (contents unspecified) and returns it for filling. The span
  /// stays valid until the next pop_back() or clear(); later pushes keep it valid.
  wire::MutBytes push(std::size_t len, TxOffload offload = {}) {
    if (count_ == frames_.size()) { frames_.emplace_back(); }
    auto& f = frames_[count_++];
    f.bytes.resize(len);
    f.offload = offload;
    return f.bytes;
  }
  /// Precondition: !empty().
  void pop_back() noexcept { --count_; }
  /// Precondition: !empty(). The last frame, for a caller that has just pushed it.
  [[nodiscard]] wire::MutBytes back() noexcept { return frames_[count_ - 1].bytes; }
  /// Precondition: !empty().
  [[nodiscard]] TxOffload back_offload() const noexcept { return frames_[count_ - 1].offload; }

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// Precondition: i < size(). Valid until clear().
  [[nodiscard]] wire::Bytes operator[](std::size_t i) const noexcept { return frames_[i].bytes; }
  /// Precondition: i < size().
  [[nodiscard]] TxOffload offload(std::size_t i) const noexcept { return frames_[i].offload; }
  /// Ends a batch. Precondition: the caller is done with every span of this batch.
  void clear() noexcept {
    recent_peak_ = std::max(recent_peak_, count_);
    count_ = 0;
    if (++batches_ < kTrimInterval) { return; }
    const std::size_t keep = std::max(recent_peak_, kKeepFrames);
    if (frames_.size() > keep) {
      frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(keep), frames_.end());
    }
    batches_ = 0;
    recent_peak_ = 0;
  }
  /// Frame buffers held for reuse, in use or not.
  [[nodiscard]] std::size_t frames_held() const noexcept { return frames_.size(); }

 private:
  struct Frame {
    std::vector<std::byte> bytes;
    TxOffload offload;
  };
  std::vector<Frame> frames_;
  std::size_t count_ = 0;
  std::size_t recent_peak_ = 0;  // the largest batch since the last trim
  std::size_t batches_ = 0;      // clear() calls since the last trim
};

}  // namespace tapsrv::link
