// A fixed-capacity ring of bytes: the send and receive buffers of a connection.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::tcp {

/// Bytes [0, size()) are readable from the head; write_at() can also place bytes beyond size()
/// (out-of-order data) as long as they fit within capacity(). Storage is allocated on first use,
/// so an idle connection costs nothing here.
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity) noexcept : capacity_{capacity} {}

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t free() const noexcept { return capacity_ - size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Appends up to free() bytes of `data`; returns how many were taken.
  std::size_t push(wire::Bytes data) {
    const std::size_t n = std::min(data.size(), free());
    write_at(size_, data.first(n));
    size_ += n;
    return n;
  }
  /// Copies `data` to offset `off` from the head without changing size().
  /// Precondition: off + data.size() <= capacity().
  void write_at(std::size_t off, wire::Bytes data) {
    ensure_storage();
    std::size_t pos = (head_ + off) % capacity_;
    while (!data.empty()) {
      const std::size_t n = std::min(data.size(), capacity_ - pos);
      std::copy_n(data.begin(), n, buf_.begin() + static_cast<std::ptrdiff_t>(pos));
      data = data.subspan(n);
      pos = 0;
    }
  }
  /// Marks `n` more bytes (already placed by write_at) readable. Precondition: n <= free().
  void commit(std::size_t n) noexcept { size_ += n; }
  /// The longest contiguous run of readable bytes starting at offset `off`, at most `max` long.
  /// Valid until the next mutation. Precondition: off <= size().
  [[nodiscard]] wire::Bytes contiguous_at(std::size_t off, std::size_t max) const noexcept {
    if (off >= size_) { return {}; }
    const std::size_t pos = (head_ + off) % capacity_;
    const std::size_t n = std::min({max, size_ - off, capacity_ - pos});
    return wire::Bytes{buf_.data() + pos, n};
  }
  /// Copies up to out.size() bytes from the head into `out` without consuming them.
  std::size_t peek(wire::MutBytes out) const noexcept {
    std::size_t done = 0;
    while (done < out.size()) {
      const auto run = contiguous_at(done, out.size() - done);
      if (run.empty()) { break; }
      std::copy(run.begin(), run.end(), out.begin() + static_cast<std::ptrdiff_t>(done));
      done += run.size();
    }
    return done;
  }
  /// Drops `n` bytes from the head. Precondition: n <= size().
  void consume(std::size_t n) noexcept {
    // The head never snaps back to 0 when the ring empties: out-of-order bytes may already sit
    // past size(), at offsets relative to the current head.
    size_ -= n;
    head_ = (head_ + n) % capacity_;
  }

 private:
  void ensure_storage() {
    if (buf_.size() != capacity_) { buf_.resize(capacity_); }
  }
  std::vector<std::byte> buf_;
  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tapsrv::tcp
