// The sender's record of what is in flight: one entry per transmitted range, with what the peer
// reported of it (RFC 6675 §3 scoreboard, RFC 2018 SACK), what we judged lost, and when each
// range was last sent (RFC 8985 RACK's xmit_ts; Linux keeps the same per skb in its rtx queue).
#pragma once

#include <cstdint>
#include <vector>

#include "tapsrv/core/time.hpp"
#include "tapsrv/wire/seq.hpp"

namespace tapsrv::tcp {

/// What the connection's delivery counters said when a range was (re)sent (Linux tcp_rate.c's
/// skb->tx): a later ACK of the range turns the difference into a delivery-rate sample.
struct TxStamp {
  std::uint64_t delivered = 0;  // C.delivered
  Instant delivered_time{};     // C.delivered_time
  Instant first_tx{};           // C.first_tx_time
  bool app_limited = false;     // C.app_limited was set
};

/// One transmitted range of sequence space. Our FIN is a range of its own, one long.
struct SentSegment {
  static constexpr std::uint8_t kSacked = 1;       // the peer holds it (SACK)
  static constexpr std::uint8_t kLost = 2;         // judged lost, resend it
  static constexpr std::uint8_t kRetrans = 4;      // a retransmission of it is in flight
  static constexpr std::uint8_t kEverRetrans = 8;  // sent more than once (Karn)
  static constexpr std::uint8_t kFin = 16;

  wire::SeqNum begin{};
  std::uint32_t len = 0;
  std::uint16_t mss = 0;  // payload per piece when it was sent (Linux tcp_skb_mss)
  std::uint8_t flags = 0;
  Instant xmit{};  // last transmission
  TxStamp tx{};

  [[nodiscard]] wire::SeqNum end() const noexcept { return begin + len; }
  [[nodiscard]] bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
};

/// Told of each range the peer newly holds, cumulatively or by SACK, for RTT, RACK and
/// delivery-rate bookkeeping. `bytes` may be less than s.len when an ACK splits a range.
class DeliverySink {
 public:
  virtual void on_delivered(const SentSegment& s, std::uint32_t bytes, bool by_sack) noexcept = 0;

 protected:
  ~DeliverySink() = default;
};

/// Ordered by sequence number, contiguous from SND.UNA to SND.NXT. Byte totals are kept as the
/// flags change, so pipe() costs nothing. Storage grows to the largest flight and is reused,
/// so a warm connection allocates nothing per segment.
class Scoreboard {
 public:
  /// Splits below this many entries only; past it a partial SACK is simply not recorded (the
  /// peer repeats it), which bounds memory and work whatever SACK blocks a peer invents.
  static constexpr std::size_t kMaxEntries = 1U << 16;

  /// A new range [begin, begin + len) left at `now` (begin must be the current end).
  void on_send(wire::SeqNum begin, std::uint32_t len, std::uint16_t mss, bool fin, Instant now,
               const TxStamp& tx);
  /// SND.UNA moved to `ack`: entries below it leave, the one it cuts is trimmed. Ranges not
  /// SACKed before are reported to `sink`.
  void on_cumulative_ack(wire::SeqNum ack, DeliverySink& sink);
  /// Marks [left, right) as held by the peer. Partly covered entries are split at multiples of
  /// their MSS from their start (Linux tcp_match_skb_to_sack), so entries stay whole segments.
  void on_sack(wire::SeqNum left, wire::SeqNum right, DeliverySink& sink);

  /// RFC 6675 §4 IsLost() for every entry: marks lost each one that has more than
  /// (dup_thresh - 1) * mss SACKed bytes, or dup_thresh SACKed entries, above it. Returns the
  /// bytes newly marked.
  std::uint32_t mark_lost_by_sack(unsigned dup_thresh, std::uint32_t mss);
  /// Marks entry `i` lost (a retransmission in flight is then taken as lost too). Returns the
  /// bytes newly marked.
  std::uint32_t mark_lost(std::size_t i);
  /// After a retransmission timeout (RFC 6675 §5.1, Linux tcp_timeout_mark_lost): everything not
  /// SACKed is lost. If SND.UNA's own entry is SACKed the peer reneged (RFC 2018 §8), and every
  /// SACK mark is forgotten.
  void mark_all_lost();
  /// The reduction was spurious: entries waiting for a retransmission are no longer lost.
  void unmark_lost() noexcept;

  /// The first entry judged lost and not yet resent, or size() when none.
  [[nodiscard]] std::size_t next_lost() noexcept;
  /// Resends the first `len` bytes of entry `i` at `now` (splitting it when len < its length);
  /// returns the entry resent.
  const SentSegment& on_retransmit(std::size_t i, std::uint32_t len, Instant now,
                                   const TxStamp& tx);
  /// Splits entry `i` so that it holds `len` bytes and a new entry after it the rest; false at
  /// kMaxEntries. Precondition: 0 < len < entry(i).len.
  bool split(std::size_t i, std::uint32_t len);

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size() - head_; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] const SentSegment& entry(std::size_t i) const noexcept {
    return entries_[head_ + i];
  }
  [[nodiscard]] SentSegment& entry(std::size_t i) noexcept { return entries_[head_ + i]; }

  [[nodiscard]] std::uint32_t outstanding() const noexcept { return outstanding_; }
  [[nodiscard]] std::uint32_t sacked() const noexcept { return sacked_; }
  [[nodiscard]] std::uint32_t lost() const noexcept { return lost_; }
  [[nodiscard]] std::uint32_t retrans() const noexcept { return retrans_; }
  [[nodiscard]] std::uint32_t sacked_entries() const noexcept { return sacked_entries_; }
  /// RFC 6675 pipe, as Linux's tcp_packets_in_flight counts it (in bytes): what is neither
  /// SACKed nor lost, plus the retransmissions in flight.
  [[nodiscard]] std::uint32_t pipe() const noexcept {
    return outstanding_ - sacked_ - lost_ + retrans_;
  }
  /// The highest sequence number SACKed (RACK.fack), valid while sacked() > 0.
  [[nodiscard]] wire::SeqNum highest_sacked() const noexcept { return highest_sacked_; }

  /// Gives the storage back when nothing is in flight.
  void release() noexcept;

 private:
  void set_flags(SentSegment& s, std::uint8_t flags) noexcept;
  /// Index of the entry holding `seq`, or size() when none does.
  [[nodiscard]] std::size_t find(wire::SeqNum seq) const noexcept;
  void compact() noexcept;

  std::vector<SentSegment> entries_;  // live entries are [head_, size)
  std::size_t head_ = 0;
  std::size_t lost_hint_ = 0;  // no entry before it is lost and waiting (relative to head_)
  std::uint32_t outstanding_ = 0;
  std::uint32_t sacked_ = 0;
  std::uint32_t lost_ = 0;
  std::uint32_t retrans_ = 0;
  std::uint32_t sacked_entries_ = 0;
  wire::SeqNum highest_sacked_{};
};

}  // namespace tapsrv::tcp
