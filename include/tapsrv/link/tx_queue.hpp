// Frames waiting to be written to the TAP, in order, in buffers reused from one batch to the next.
#pragma once

#include <cstddef>
#include <vector>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::link {

/// After warm-up a steady state allocates nothing: clear() keeps every buffer for reuse.
class TxQueue {
 public:
  /// Appends a frame of `len` bytes (contents unspecified) and returns it for filling. The span
  /// stays valid until the next resize_back(), pop_back() or clear(); later pushes keep it valid.
  wire::MutBytes push(std::size_t len, TxOffload offload = {}) {
    if (count_ == frames_.size()) { frames_.emplace_back(); }
    auto& f = frames_[count_++];
    f.bytes.resize(len);
    f.offload = offload;
    return f.bytes;
  }
  /// Precondition: !empty(). Shrinks or grows the last frame.
  void resize_back(std::size_t len) { frames_[count_ - 1].bytes.resize(len); }
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
  void clear() noexcept { count_ = 0; }

 private:
  struct Frame {
    std::vector<std::byte> bytes;
    TxOffload offload;
  };
  std::vector<Frame> frames_;
  std::size_t count_ = 0;
};

}  // namespace tapsrv::link
