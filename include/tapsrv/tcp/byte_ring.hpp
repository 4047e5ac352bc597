// A bounded ring of bytes: the send and receive buffers of a connection.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>

#include "tapsrv/tcp/buffer_budget.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::tcp {

/// Bytes [0, size()) are readable from the head; write_at() can also place bytes beyond size()
/// (out-of-order data) as long as they stay within capacity(). Storage starts empty and grows
/// by doubling up to capacity() as bytes arrive, so an idle or chatty connection stays small
/// and a new one costs no page faults for buffer it never uses. With a budget, the storage is
/// charged to it and grows only as far as the budget allows (see BufferBudget).
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity, BufferBudget* budget = nullptr) noexcept
      : budget_{budget}, capacity_{capacity} {}
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;
  ~ByteRing() { release_storage(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t free() const noexcept { return capacity_ - size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Raises (or, with no storage held, lowers) the bound. Precondition: capacity >= size() and,
  /// when lowering, allocated() == 0.
  void set_capacity(std::size_t capacity) noexcept { capacity_ = capacity; }
  /// Bytes of storage held now (<= capacity()).
  [[nodiscard]] std::size_t allocated() const noexcept { return storage_; }

  /// How many bytes push() takes now: free(), or less when the budget holds storage back.
  [[nodiscard]] std::size_t room() const noexcept {
    if (storage_ == capacity_ || budget_ == nullptr ||
        budget_->allows(storage_, capacity_ - storage_)) {
      return free();
    }
    const std::size_t step = next_storage(storage_ + 1);
    return (budget_->allows(storage_, step - storage_) ? step : storage_) - size_;
  }
  /// Appends up to room() bytes of `data`; returns how many were taken.
  std::size_t push(wire::Bytes data) {
    std::size_t n = std::min(data.size(), free());
    if (!reserve(size_ + n)) {
      // All of it would not get storage: take what one doubling, or the storage held, fits.
      (void)reserve(next_storage(storage_ + 1));
      n = std::min(n, storage_ - size_);
    }
    write_at(size_, data.first(n));
    size_ += n;
    return n;
  }
  /// Makes offsets [0, end) from the head writable; false when the budget refuses the storage.
  /// Precondition: end <= capacity().
  [[nodiscard]] bool make_room(std::size_t end) { return reserve(end); }
  /// Copies `data` to offset `off` from the head without changing size().
  /// Precondition: make_room(off + data.size()) succeeded (off + data.size() <= capacity()).
  void write_at(std::size_t off, wire::Bytes data) {
    if (data.empty()) { return; }
    if (!reserve(off + data.size())) { return; }
    std::size_t pos = (head_ + off) % storage_;
    while (!data.empty()) {
      const std::size_t n = std::min(data.size(), storage_ - pos);
      std::copy_n(data.begin(), n, buf_.get() + pos);
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
    const std::size_t pos = (head_ + off) % storage_;
    const std::size_t n = std::min({max, size_ - off, storage_ - pos});
    return wire::Bytes{buf_.get() + pos, n};
  }
  /// Frees the storage of an empty ring; it grows again on demand. Precondition: no bytes
  /// were placed past size() (no out-of-order data waits in it).
  void release() noexcept {
    if (size_ != 0) { return; }
    release_storage();
    head_ = 0;
  }
  /// Drops `n` bytes from the head. Precondition: n <= size().
  void consume(std::size_t n) noexcept {
    // The head never snaps back to 0 when the ring empties: out-of-order bytes may already sit
    // past size(), at offsets relative to the current head.
    size_ -= n;
    if (storage_ != 0) { head_ = (head_ + n) % storage_; }
  }

 private:
  /// Makes offsets [0, end) from the head addressable, keeping every byte where it was
  /// relative to the head (out-of-order bytes past size() included).
  /// Storage size that holds offsets [0, end): doubling from kInitial, capped at capacity().
  [[nodiscard]] std::size_t next_storage(std::size_t end) const noexcept {
    std::size_t grown = std::max<std::size_t>(storage_ * 2, kInitial);
    while (grown < end) { grown *= 2; }
    return std::min(grown, capacity_);
  }
  [[nodiscard]] bool reserve(std::size_t end) {
    if (end <= storage_) { return true; }
    const std::size_t grown = next_storage(end);
    if (budget_ != nullptr && !budget_->charge(storage_, grown - storage_)) { return false; }
    // Default-initialised: no memset of memory the peer may never fill.
    std::unique_ptr<std::byte[]> next{new std::byte[grown]};
    if (storage_ != 0) {
      std::copy(buf_.get() + head_, buf_.get() + storage_, next.get());
      std::copy(buf_.get(), buf_.get() + head_, next.get() + (storage_ - head_));
    }
    buf_ = std::move(next);
    storage_ = grown;
    head_ = 0;
    return true;
  }
  void release_storage() noexcept {
    if (budget_ != nullptr) { budget_->uncharge(storage_); }
    buf_.reset();
    storage_ = 0;
  }

  static constexpr std::size_t kInitial = BufferBudget::kGuaranteed;
  BufferBudget* budget_;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t storage_ = 0;
  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tapsrv::tcp
