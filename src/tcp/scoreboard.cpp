// The SACK scoreboard (RFC 6675 §3-§4) over the ranges in flight.
#include "tapsrv/tcp/scoreboard.hpp"

#include <algorithm>

namespace tapsrv::tcp {

using wire::SeqNum;

void Scoreboard::set_flags(SentSegment& s, std::uint8_t flags) noexcept {
  const auto account = [&s](std::uint32_t& total, std::uint8_t bit, std::uint8_t before,
                            std::uint8_t after) {
    if ((before & bit) != 0) { total -= s.len; }
    if ((after & bit) != 0) { total += s.len; }
  };
  account(sacked_, SentSegment::kSacked, s.flags, flags);
  account(lost_, SentSegment::kLost, s.flags, flags);
  account(retrans_, SentSegment::kRetrans, s.flags, flags);
  if (s.has(SentSegment::kSacked) != ((flags & SentSegment::kSacked) != 0)) {
    sacked_entries_ =
        (flags & SentSegment::kSacked) != 0 ? sacked_entries_ + 1 : sacked_entries_ - 1;
  }
  s.flags = flags;
}

void Scoreboard::on_send(SeqNum begin, std::uint32_t len, std::uint16_t mss, bool fin, Instant now,
                         const TxStamp& tx) {
  if (len == 0) { return; }
  // Ranges sent in one go, with the same delivery state, are one for RACK and for rate samples:
  // keep them together, as one TSO skb is one entry in Linux. Only while the entry is whole
  // segments: on_sack and on_retransmit cut entries at multiples of the MSS from their start,
  // so a short piece (the send ring's wrap cuts one) must end its entry, or the segments after
  // it would be off that grid and their SACKs never recorded.
  if (!fin && !empty()) {
    SentSegment& last = entries_.back();
    if (last.flags == 0 && last.end() == begin && last.xmit == now && last.mss == mss && mss > 0 &&
        last.len % mss == 0 && last.tx.delivered == tx.delivered &&
        last.tx.app_limited == tx.app_limited && last.len <= 0x7fffffffU - len) {
      last.len += len;
      outstanding_ += len;
      return;
    }
  }
  if (head_ > 0 && head_ == entries_.size()) {
    entries_.clear();
    head_ = 0;
    lost_hint_ = 0;
  }
  entries_.push_back(SentSegment{.begin = begin,
                                 .len = len,
                                 .mss = mss,
                                 .flags = fin ? SentSegment::kFin : std::uint8_t{0},
                                 .xmit = now,
                                 .tx = tx});
  outstanding_ += len;
}

void Scoreboard::on_cumulative_ack(SeqNum ack, DeliverySink& sink) {
  std::size_t gone = 0;
  while (head_ < entries_.size()) {
    SentSegment& s = entries_[head_];
    if (!(s.begin < ack)) { break; }
    const bool whole = !(ack < s.end());
    const auto bytes = whole ? s.len : static_cast<std::uint32_t>(ack - s.begin);
    if (!s.has(SentSegment::kSacked)) { sink.on_delivered(s, bytes, false); }
    if (!whole) {
      // Linux tcp_trim_head: the peer took the front of a range; the rest stays as it was.
      const std::uint8_t flags = s.flags;
      set_flags(s, 0);
      s.begin = ack;
      s.len -= bytes;
      set_flags(s, flags);
      outstanding_ -= bytes;
      break;
    }
    set_flags(s, 0);
    outstanding_ -= s.len;
    ++head_;
    ++gone;
  }
  lost_hint_ = lost_hint_ > gone ? lost_hint_ - gone : 0;
  compact();
}

void Scoreboard::compact() noexcept {
  // Amortised O(1): move the live entries down once the dead prefix outweighs them.
  if (head_ == 0 || head_ < entries_.size() - head_) { return; }
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
}

std::size_t Scoreboard::find(SeqNum seq) const noexcept {
  const auto first = entries_.begin() + static_cast<std::ptrdiff_t>(head_);
  // The entries tile [SND.UNA, SND.NXT) in order: the first one ending after `seq` holds it.
  const auto it = std::partition_point(first, entries_.end(),
                                       [seq](const SentSegment& s) { return !(seq < s.end()); });
  if (it == entries_.end() || seq < it->begin) { return size(); }
  return static_cast<std::size_t>(it - first);
}

bool Scoreboard::split(std::size_t i, std::uint32_t len) {
  if (entries_.size() >= kMaxEntries + head_) { return false; }
  SentSegment& s = entry(i);
  const std::uint8_t flags = s.flags;
  set_flags(s, 0);  // uncounted at the old length, counted again per half below
  SentSegment rest = s;
  rest.begin = s.begin + len;
  rest.len = s.len - len;
  s.len = len;
  set_flags(s, static_cast<std::uint8_t>(flags & ~SentSegment::kFin));  // the FIN ends `rest`
  entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(head_ + i + 1), rest);
  set_flags(entry(i + 1), flags);
  return true;
}

void Scoreboard::on_sack(SeqNum left, SeqNum right, DeliverySink& sink) {
  if (!(left < right)) { return; }
  std::size_t i = find(left);
  if (i == size()) {
    // The block may start below SND.UNA (partly a duplicate): begin at the first entry.
    if (empty() || !(left < entry(0).begin)) { return; }
    i = 0;
  }
  for (; i < size(); ++i) {
    SentSegment* s = &entry(i);
    if (!(s->begin < right)) { break; }
    if (s->has(SentSegment::kSacked)) { continue; }
    const std::uint32_t mss = std::max<std::uint32_t>(s->mss, 1);
    // Cover only whole multiples of the MSS from the entry's start, so entries stay segments
    // the way they were sent; a block that starts inside an entry splits off its front first.
    if (s->begin < left) {
      const auto skip = static_cast<std::uint32_t>(left - s->begin);
      const std::uint32_t aligned = (skip + mss - 1) / mss * mss;
      // Split or not, entry i itself is not covered; the covered part is entry i + 1.
      if (aligned < s->len) { split(i, aligned); }
      continue;
    }
    if (right < s->end()) {
      const auto covered = static_cast<std::uint32_t>(right - s->begin);
      const std::uint32_t aligned = covered / mss * mss;
      if (aligned == 0 || !split(i, aligned)) { break; }
      s = &entry(i);
    }
    sink.on_delivered(*s, s->len, true);
    set_flags(
        *s, static_cast<std::uint8_t>((s->flags & (SentSegment::kEverRetrans | SentSegment::kFin)) |
                                      SentSegment::kSacked));
    if (sacked_entries_ == 1 || highest_sacked_ < s->end()) { highest_sacked_ = s->end(); }
  }
}

std::uint32_t Scoreboard::mark_lost(std::size_t i) {
  SentSegment& s = entry(i);
  if (s.has(SentSegment::kSacked) || (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans))) {
    return 0;
  }
  const bool was_lost = s.has(SentSegment::kLost);
  set_flags(s, static_cast<std::uint8_t>((s.flags | SentSegment::kLost) & ~SentSegment::kRetrans));
  lost_hint_ = std::min(lost_hint_, i);
  return was_lost ? 0 : s.len;
}

std::uint32_t Scoreboard::mark_lost_by_sack(unsigned dup_thresh, std::uint32_t mss) {
  if (sacked_ == 0) { return 0; }
  const std::uint64_t byte_limit = std::uint64_t{dup_thresh - 1} * mss;
  std::uint64_t bytes_above = 0;
  unsigned entries_above = 0;
  std::uint32_t marked = 0;
  // From the top down, so each entry sees what is SACKed above it.
  for (std::size_t i = size(); i-- > 0;) {
    const SentSegment& s = entry(i);
    if (s.has(SentSegment::kSacked)) {
      bytes_above += s.len;
      ++entries_above;
      continue;
    }
    // A lost entry stays as it is: a resent one is judged by RACK, not by this rule.
    if (!s.has(SentSegment::kLost) && (bytes_above > byte_limit || entries_above >= dup_thresh)) {
      marked += mark_lost(i);
    }
  }
  return marked;
}

void Scoreboard::mark_all_lost() {
  const bool reneged = !empty() && entry(0).has(SentSegment::kSacked);
  for (std::size_t i = 0; i < size(); ++i) {
    SentSegment& s = entry(i);
    if (reneged) { set_flags(s, static_cast<std::uint8_t>(s.flags & ~SentSegment::kSacked)); }
    if (!s.has(SentSegment::kSacked)) {
      set_flags(s,
                static_cast<std::uint8_t>((s.flags | SentSegment::kLost) & ~SentSegment::kRetrans));
    }
  }
  lost_hint_ = 0;
}

void Scoreboard::unmark_lost() noexcept {
  for (std::size_t i = 0; i < size(); ++i) {
    SentSegment& s = entry(i);
    if (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans)) {
      set_flags(s, static_cast<std::uint8_t>(s.flags & ~SentSegment::kLost));
    }
  }
}

std::size_t Scoreboard::next_lost() noexcept {
  if (lost_ == 0) { return size(); }
  for (std::size_t i = lost_hint_; i < size(); ++i) {
    const SentSegment& s = entry(i);
    if (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans)) {
      lost_hint_ = i;
      return i;
    }
  }
  lost_hint_ = size();
  return size();
}

const SentSegment& Scoreboard::on_retransmit(std::size_t i, std::uint32_t len, Instant now,
                                             const TxStamp& tx) {
  if (len < entry(i).len) {
    const std::uint32_t mss = entry(i).mss;
    split(i, len);
    // A resend cut off the MSS grid (by the send ring's end) leaves the rest of its segment as
    // an entry of its own, so what follows stays on the grid the peer saw the first time.
    if (mss > 0 && len % mss != 0 && i + 1 < size() && entry(i + 1).len > mss - len % mss) {
      split(i + 1, mss - len % mss);
    }
  }
  SentSegment& s = entry(i);
  set_flags(s,
            static_cast<std::uint8_t>(s.flags | SentSegment::kRetrans | SentSegment::kEverRetrans));
  s.xmit = now;
  s.tx = tx;
  return s;
}

void Scoreboard::release() noexcept {
  if (!empty()) { return; }
  entries_ = {};
  head_ = 0;
  lost_hint_ = 0;
}

}  // namespace tapsrv::tcp
