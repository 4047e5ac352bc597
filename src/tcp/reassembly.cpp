#include "tapsrv/tcp/reassembly.hpp"

#include <algorithm>

namespace tapsrv::tcp {

bool Reassembly::add(std::uint32_t off, std::uint32_t len) {
  if (len == 0) { return true; }
  std::uint32_t begin = off;
  std::uint32_t end = off + len;
  // Merge with every range it overlaps or touches; those are consecutive in sorted order.
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                                [](const Range& r, std::uint32_t b) { return r.end < b; });
  auto last = first;
  while (last != ranges_.end() && last->begin <= end) {
    begin = std::min(begin, last->begin);
    end = std::max(end, last->end);
    ++last;
  }
  if (first == last && ranges_.size() >= kMaxRanges) { return false; }
  const Range merged{begin, end, next_stamp_++};
  first = ranges_.erase(first, last);
  ranges_.insert(first, merged);
  return true;
}

std::uint32_t Reassembly::advance(std::uint32_t n) {
  std::uint32_t extra = 0;
  for (auto& r : ranges_) {
    r.begin = r.begin > n ? r.begin - n : 0;
    r.end = r.end > n ? r.end - n : 0;
  }
  // A range now starting at 0 continues the in-order stream.
  ranges_.erase(
      std::remove_if(ranges_.begin(), ranges_.end(), [](const Range& r) { return r.end == 0; }),
      ranges_.end());
  if (!ranges_.empty() && ranges_.front().begin == 0) {
    extra = ranges_.front().end;
    ranges_.erase(ranges_.begin());
    for (auto& r : ranges_) {
      r.begin -= extra;
      r.end -= extra;
    }
  }
  return extra;
}

std::uint8_t Reassembly::sack_blocks(wire::SeqNum rcv_nxt, std::array<wire::SackBlock, 4>& out,
                                     std::size_t max) const noexcept {
  std::array<const Range*, kMaxRanges> order{};
  std::size_t n = 0;
  for (const auto& r : ranges_) { order[n++] = &r; }
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
            [](const Range* a, const Range* b) { return a->stamp > b->stamp; });
  const std::size_t count = std::min({n, max, out.size()});
  for (std::size_t i = 0; i < count; ++i) {
    out[i] = wire::SackBlock{rcv_nxt + order[i]->begin, rcv_nxt + order[i]->end};
  }
  return static_cast<std::uint8_t>(count);
}

}  // namespace tapsrv::tcp
