// RACK loss detection, RFC 8985 §6.2 (Linux tcp_rack_advance, tcp_rack_detect_loss,
// tcp_rack_update_reo_wnd).
#include "tapsrv/tcp/rack.hpp"

#include <algorithm>

namespace tapsrv::tcp {

using wire::SeqNum;

namespace {
constexpr std::uint32_t kDupThresh = 3;  // RFC 8985 §6.2 step 4, as RFC 6675
constexpr int kReoWndPersist = 16;       // recoveries before the window shrinks back
constexpr unsigned kMaxReoWndMult = 0xff;
}  // namespace

void Rack::on_delivered(const SentSegment& s, Instant now, Duration min_rtt,
                        bool echo_predates_xmit) noexcept {
  const Duration rtt = now - s.xmit;
  // Step 2: an ACK that comes sooner than any RTT seen, or that echoes a timestamp older than
  // the retransmission's, is for an earlier copy. Taking it for the retransmission would date
  // the delivery to the resend and mark everything resent before it lost at once. (Linux
  // tcp_rack_advance has only the RTT test; queues of a few ms on a path whose minimum RTT is
  // 0.1 ms defeat it, and the timestamp test is what RFC 8985 adds.)
  const bool ambiguous = s.has(SentSegment::kEverRetrans) && (rtt < min_rtt || echo_predates_xmit);
  if (!ambiguous && (!valid_ || sent_after(s.xmit, s.end(), xmit_ts_, end_seq_))) {
    valid_ = true;
    xmit_ts_ = s.xmit;
    end_seq_ = s.end();
    rtt_ = rtt;
  }
  // Step 3: a segment sent once and delivered below one delivered before it was reordered.
  if (fack_valid_ && s.end() < fack_) {
    if (!s.has(SentSegment::kEverRetrans)) { reordering_seen_ = true; }
  } else {
    fack_valid_ = true;
    fack_ = s.end();
  }
}

void Rack::on_dsack(SeqNum snd_nxt) noexcept {
  dsack_this_ack_ = true;
  // Step 4: one widening per round trip of DSACKs, up to a cap.
  if (dsack_round_) { return; }
  dsack_round_ = snd_nxt;
  reo_wnd_mult_ = std::min(reo_wnd_mult_ + 1, kMaxReoWndMult);
  reo_wnd_persist_ = kReoWndPersist;
}

void Rack::on_ack_done(SeqNum snd_una, bool recovery_ended) noexcept {
  if (dsack_round_ && !(snd_una < *dsack_round_)) { dsack_round_.reset(); }
  if (!dsack_this_ack_ && recovery_ended && --reo_wnd_persist_ <= 0) { reo_wnd_mult_ = 1; }
  dsack_this_ack_ = false;
}

Duration Rack::reo_wnd(bool in_recovery, std::uint32_t sacked_entries, Duration min_rtt,
                       Duration srtt) const noexcept {
  // Step 4: without evidence of reordering, a loss is a loss at once once recovery has begun
  // or DupThresh segments were SACKed above it (the RFC 6675 rule in time form).
  if (!reordering_seen_ && (in_recovery || sacked_entries >= kDupThresh)) { return Duration{0}; }
  return std::min(reo_wnd_mult_ * min_rtt / 4, srtt);
}

std::uint32_t Rack::detect_loss(Scoreboard& sb, Instant now, Duration reo_wnd,
                                std::optional<Duration>& rearm) const noexcept {
  rearm.reset();
  if (!valid_) { return 0; }
  std::uint32_t marked = 0;
  for (std::size_t i = 0; i < sb.size(); ++i) {
    const SentSegment& s = sb.entry(i);
    if (s.has(SentSegment::kSacked)) { continue; }
    if (s.has(SentSegment::kLost) && !s.has(SentSegment::kRetrans)) { continue; }  // waiting
    if (!sent_after(xmit_ts_, end_seq_, s.xmit, s.end())) { continue; }
    const Duration remaining = (s.xmit + rtt_ + reo_wnd) - now;
    if (remaining <= Duration{0}) {
      // A retransmission found lost here was already counted lost: mark_lost returns 0 for
      // it, but it goes back to waiting for another retransmission.
      marked += sb.mark_lost(i);
    } else if (!rearm || *rearm < remaining) {
      rearm = remaining;
    }
  }
  return marked;
}

}  // namespace tapsrv::tcp
