// RACK (RFC 8985 §6): time-based loss detection. A segment is lost when one sent after it has
// been delivered and a reordering window has passed since; this also finds lost
// retransmissions, which duplicate-ACK counting never does. Linux: net/ipv4/tcp_recovery.c.
#pragma once

#include <cstdint>
#include <optional>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/scoreboard.hpp"
#include "tapsrv/wire/seq.hpp"

namespace tapsrv::tcp {

class Rack {
 public:
  /// RFC 8985 §6.2 steps 2 and 3 for one newly delivered segment (cumulatively or by SACK).
  /// `echo_predates_xmit`: the ACK's TSecr is older than the TSval the segment last went
  /// with, so what arrived was an earlier copy (step 2's timestamp test).
  void on_delivered(const SentSegment& s, Instant now, Duration min_rtt,
                    bool echo_predates_xmit = false) noexcept;
  /// Step 4: the ACK being processed carried a DSACK (RFC 2883); `snd_nxt` marks the round.
  void on_dsack(wire::SeqNum snd_nxt) noexcept;
  /// Step 4 at the end of each ACK: a DSACK round ends when SND.UNA passes it; each recovery
  /// that ends without a new DSACK counts toward forgetting the widened window.
  void on_ack_done(wire::SeqNum snd_una, bool recovery_ended) noexcept;
  /// The reordering window (step 4's RACK_update_reo_wnd). `sacked_entries` counts SACKed
  /// segments, compared with DupThresh (3).
  [[nodiscard]] Duration reo_wnd(bool in_recovery, std::uint32_t sacked_entries, Duration min_rtt,
                                 Duration srtt) const noexcept;
  /// Step 5: marks lost every outstanding segment sent before the most recently delivered
  /// one and older than RACK.rtt + reo_wnd. Returns the bytes newly marked lost, and sets
  /// `rearm` to how long until the next one could be (the reordering timer, §6.3), if any.
  std::uint32_t detect_loss(Scoreboard& sb, Instant now, Duration reo_wnd,
                            std::optional<Duration>& rearm) const noexcept;

  [[nodiscard]] bool reordering_seen() const noexcept { return reordering_seen_; }
  [[nodiscard]] unsigned reo_wnd_mult() const noexcept { return reo_wnd_mult_; }
  [[nodiscard]] Duration rtt() const noexcept { return rtt_; }

 private:
  /// RFC 8985 RACK_sent_after: (t1, seq1) was sent after (t2, seq2).
  static bool sent_after(Instant t1, wire::SeqNum seq1, Instant t2, wire::SeqNum seq2) noexcept {
    return t1 > t2 || (t1 == t2 && seq2 < seq1);
  }

  bool valid_ = false;  // some segment has been delivered
  Instant xmit_ts_{};   // RACK.xmit_ts: send time of the most recently sent delivered segment
  wire::SeqNum end_seq_{};
  Duration rtt_{};  // RACK.rtt, from that segment
  bool fack_valid_ = false;
  wire::SeqNum fack_{};  // RACK.fack: the highest end delivered
  bool reordering_seen_ = false;
  unsigned reo_wnd_mult_ = 1;
  int reo_wnd_persist_ = 0;
  std::optional<wire::SeqNum> dsack_round_;
  bool dsack_this_ack_ = false;
};

}  // namespace tapsrv::tcp
