// What an acceptable ACK tells the sender: the SACK scoreboard (RFC 6675), RACK loss detection
// (RFC 8985 §6), fast recovery paced by PRR (RFC 6937), undo of spurious reductions (DSACK,
// RFC 2883; Eifel, RFC 3522), the tail-loss-probe episode (RFC 8985 §7.4), and the congestion
// controller's view of it all. Linux spreads the same over tcp_ack, tcp_sacktag_write_queue,
// tcp_fastretrans_alert and tcp_cong_control; the order here follows tcp_ack.
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpSegment;

namespace {
constexpr unsigned kDupThresh = 3;  // RFC 6675 §2 DupThresh
// Linux tcp_min_rtt_wlen: the minimum RTT is forgotten after five minutes, so a route change
// that lengthens the path is eventually believed.
constexpr Duration kMinRttWindow = std::chrono::seconds{300};
}  // namespace

/// Collects what one ACK delivered: bytes (cumulative and SACKed), the send times that give
/// RTT samples under Karn's rule, and the RACK and delivery-rate updates per range.
class Connection::AckDelivery final : public DeliverySink {
 public:
  AckDelivery(Connection& c, Instant now, const TcpSegment& seg) noexcept
      : c_{c},
        now_{now},
        echo_{c.ts_enabled_ && seg.options.timestamps
                  ? std::optional<std::uint32_t>{seg.options.timestamps->echo}
                  : std::nullopt} {}
  void on_delivered(const SentSegment& s, std::uint32_t bytes, bool by_sack) noexcept override {
    delivered += bytes;
    if (by_sack) { sacked += bytes; }
    // RFC 7323 §4.3: TSecr is TS.Recent, the TSval of a segment at the left edge when it
    // arrived; one older than the resend's own TSval cannot be the resend's echo.
    // Only a resent range can be ambiguous, so only its TSval is worked out.
    const bool echo_predates = echo_ && s.has(SentSegment::kEverRetrans) &&
                               static_cast<std::int32_t>(*echo_ - c_.ts_clock(s.xmit)) < 0;
    c_.rack_.on_delivered(s, now_, c_.min_rtt_, echo_predates);
    c_.rate_.on_delivered(s, bytes);
    if (s.has(SentSegment::kEverRetrans)) { return; }
    // Linux tcp_clean_rtx_queue: the oldest range acknowledged cumulatively times the RTO
    // (first_ackt), the newest one, SACKed or not, the congestion controller (last_ackt).
    if (!by_sack && !oldest_acked) { oldest_acked = s.xmit; }
    if (!newest || *newest < s.xmit) { newest = s.xmit; }
  }
  std::uint32_t delivered = 0;
  std::uint32_t sacked = 0;
  std::optional<Instant> oldest_acked;
  std::optional<Instant> newest;

 private:
  Connection& c_;
  Instant now_;
  std::optional<std::uint32_t> echo_;
};

std::uint32_t Connection::pipe() const noexcept {
  const std::uint32_t p = sb_.pipe();
  if (sack_enabled_) { return p; }
  return p - std::min<std::uint32_t>(p, dupacks_ * std::uint32_t{mss_});
}

std::uint32_t Connection::cwnd() const noexcept {
  if (!cc_) { return cfg_.initial_cwnd_segments * std::uint32_t{mss_}; }
  return recovery_ == Recovery::Fast && cc_->uses_prr() ? prr_cwnd_ : cc_->cwnd();
}

std::uint32_t Connection::ssthresh() const noexcept { return cc_ ? cc_->ssthresh() : 0xffffffffU; }

bool Connection::is_dsack(const TcpSegment& seg) noexcept {
  if (seg.options.sack_count == 0) { return false; }
  const auto& first = seg.options.sack[0];
  if (!(seg.ack < first.right)) { return true; }
  if (seg.options.sack_count < 2) { return false; }
  const auto& second = seg.options.sack[1];
  return !(first.left < second.left) && !(second.right < first.right);
}

void Connection::on_ack(Instant now, const TcpSegment& seg, bool duplicate) {
  const std::uint32_t prior_in_flight = pipe();
  const bool advanced = snd_.una < seg.ack;
  AckDelivery d{*this, now, seg};
  if (advanced) {
    sb_.on_cumulative_ack(seg.ack, d);
    on_new_ack(now, seg);
    rtt_.reset_backoff();
  }
  const bool dsack = sack_enabled_ && is_dsack(seg);
  if (sack_enabled_) {
    for (std::size_t i = dsack ? 1 : 0; i < seg.options.sack_count; ++i) {
      const auto& b = seg.options.sack[i];
      // Only blocks within what we sent count; anything else is stale or forged.
      if (!(snd_.una < b.right) || snd_.nxt < b.right) { continue; }
      sb_.on_sack(snd_.una < b.left ? b.left : snd_.una, b.right, d);
    }
  }
  if (dsack) {
    stats_.add(Counter::TcpDsacksReceived);
    rack_.on_dsack(snd_.nxt);
    const auto& b = seg.options.sack[0];
    // Linux tcp_check_dsack: a duplicate of data resent in this episode takes one
    // retransmission off the count; when none is left, every one of them was needless.
    if (undo_possible_ && undo_retrans_ > 0 && undo_marker_ < b.right) {
      undo_retrans_ -= static_cast<std::uint32_t>(b.right - b.left);
      if (undo_retrans_ <= 0) { undo(); }
    }
  }
  take_rtt_sample(now, seg, d);
  if (!sack_enabled_) { dupacks_ = duplicate ? dupacks_ + 1 : (advanced ? 0 : dupacks_); }

  // Eifel (RFC 3522 §3.2): the first ACK of new data after a retransmission echoes a
  // timestamp from before it, so the original arrived and the retransmission was needless
  // (Linux tcp_packet_delayed).
  if (advanced && undo_possible_ && recovery_ != Recovery::Open && ts_enabled_ && retrans_tsval_ &&
      seg.options.timestamps &&
      static_cast<std::int32_t>(seg.options.timestamps->echo - *retrans_tsval_) < 0) {
    undo();
  }
  bool recovery_ended = false;
  if (recovery_ != Recovery::Open && advanced && !(snd_.una < recover_)) {
    // RFC 6675 §5 / RFC 6937: recovery ends once the cumulative ACK covers RecoveryPoint.
    if (recovery_ == Recovery::Fast) { cc_->on_recovery_end(now); }
    recovery_ = Recovery::Open;
    recovery_ended = true;
    undo_possible_ = false;
  }
  // Linux keeps high_seq meaningful only in a recovery state. Outside one the recovery point
  // follows SND.UNA, so it never falls 2^31 behind, where SeqNum's modular comparison would
  // read it as ahead (after 2 GiB without loss, fast retransmit gated on RFC 6582's
  // "recover < SND.UNA" was off for the next 2 GiB).
  if (recovery_ == Recovery::Open) { recover_ = snd_.una; }
  const std::uint32_t lost_before = sb_.lost();
  detect_losses(now, d.sacked > 0 || (advanced && recovery_ == Recovery::Fast));
  const std::uint32_t newly_lost = sb_.lost() > lost_before ? sb_.lost() - lost_before : 0;
  if (recovery_ == Recovery::Open && sb_.lost() > 0) { enter_fast_recovery(now); }
  if (recovery_ == Recovery::Fast && d.delivered > 0) { update_prr(d.delivered); }
  rack_.on_ack_done(snd_.una, recovery_ended);
  on_tlp_ack(now, seg, dsack, advanced);

  // RFC 6298 (5.2)-(5.3): the timer stops when all is acknowledged and restarts on new data;
  // a tail probe is for a flight with nothing SACKed outside recovery (RFC 8985 §7.2).
  if (snd_.una == snd_.nxt) {
    retransmit_.reset();
    loss_probe_.reset();
    reorder_.reset();
  } else if (advanced) {
    arm_retransmit(now);
    arm_loss_probe(now);
  } else if (recovery_ != Recovery::Open || sb_.sacked() > 0) {
    loss_probe_.reset();
  }

  if (d.delivered > 0 || newly_lost > 0) {
    std::optional<Duration> rtt;
    if (d.newest) { rtt = now - *d.newest; }
    cc_->on_ack(AckSample{.now = now,
                          .acked = d.delivered,
                          .lost = newly_lost,
                          .prior_in_flight = prior_in_flight,
                          .in_flight = pipe(),
                          .delivered = rate_.delivered(),
                          .rtt = rtt,
                          .min_rtt = min_rtt_,
                          .srtt = rtt_.srtt(),
                          .in_recovery = recovery_ != Recovery::Open,
                          .cwnd_limited = cwnd_limited_,
                          .rate = rate_.take_sample(now, min_rtt_, d.delivered > 0)});
  }
}

void Connection::take_rtt_sample(Instant now, const TcpSegment& seg, const AckDelivery& d) {
  std::optional<Duration> sample;
  if (d.oldest_acked) {
    sample = now - *d.oldest_acked;
  } else if (d.newest) {
    sample = now - *d.newest;  // Linux tcp_sack: a SACK of a range sent once times it too
  } else if (ts_enabled_ && seg.options.timestamps && d.delivered > 0 &&
             seg.options.timestamps->echo != 0) {
    // RFC 7323 §4.1: only resent ranges were covered; the echoed timestamp still dates the
    // segment the peer acknowledged, to the millisecond. Less than one tick counts as one, as
    // in Linux tcp_ack_update_rtt: a zero would become the minimum RTT, and RACK (RFC 8985
    // §6.2 step 2) could then no longer tell an early copy's SACK from its retransmission's.
    const auto ms = static_cast<std::int32_t>(ts_clock(now) - seg.options.timestamps->echo);
    if (ms >= 0) { sample = std::chrono::milliseconds{std::max(ms, 1)}; }
  }
  if (!sample) { return; }
  rtt_.sample(*sample);
  const Duration newest = d.newest ? now - *d.newest : *sample;
  if (min_rtt_ == Duration{0} || newest <= min_rtt_ || now - min_rtt_at_ > kMinRttWindow) {
    min_rtt_ = std::max(newest, Duration{1});
    min_rtt_at_ = now;
  }
}

void Connection::detect_losses(Instant now, bool new_info) {
  if (sb_.empty()) {
    reorder_.reset();
    return;
  }
  if (!sack_enabled_) {
    // RFC 5681 §3.2 / RFC 6582: DupThresh duplicates (fewer under RFC 5827) start recovery,
    // and in recovery each partial ACK shows the next hole. One MSS of the head goes, as in
    // Linux's tcp_newreno_mark_lost.
    const bool start = recovery_ == Recovery::Open && dupacks_ >= duplicate_threshold();
    if (start || (recovery_ == Recovery::Fast && new_info)) {
      const SentSegment& head = sb_.entry(0);
      if (head.len > head.mss && head.mss > 0) { sb_.split(0, head.mss); }
      sb_.mark_lost(0);
    }
    return;
  }
  // RFC 6675 §5 IsLost(): DupThresh segments (or their bytes) SACKed above a hole.
  if (new_info) { sb_.mark_lost_by_sack(kDupThresh, mss_); }
  if (sb_.sacked() == 0 && sb_.retrans() == 0) {
    reorder_.reset();
    return;
  }
  // RFC 8985 §6.2 step 5 and §6.3: time-based, and it finds lost retransmissions too.
  const Duration reo =
      rack_.reo_wnd(recovery_ != Recovery::Open, sb_.sacked_entries(), min_rtt_, rtt_.srtt());
  const std::uint32_t retrans_before = sb_.retrans();
  std::optional<Duration> rearm;
  rack_.detect_loss(sb_, now, reo, rearm);
  if (sb_.retrans() < retrans_before) { stats_.add(Counter::TcpLostRetransmits); }
  if (rearm) {
    reorder_ = now + *rearm;
  } else {
    reorder_.reset();
  }
}

void Connection::enter_fast_recovery(Instant now) {
  // RFC 6675 §5 steps (4.1)-(4.3) with RFC 6937 §3's initialisation.
  const std::uint32_t flight = pipe();
  start_undo_episode();
  cc_->on_congestion(now, flight);
  ecn_.on_loss_reduction(snd_.nxt);
  recovery_ = Recovery::Fast;
  recover_ = snd_.nxt;
  prr_delivered_ = 0;
  prr_out_ = 0;
  recover_fs_ = std::max<std::uint32_t>(static_cast<std::uint32_t>(snd_.nxt - snd_.una), 1);
  prr_cwnd_ = flight + mss_;  // the fast retransmit itself always goes
  loss_probe_.reset();
  tlp_end_.reset();
  stats_.add(Counter::TcpFastRetransmits);
}

void Connection::on_rto_recovery(Instant now) {
  // RFC 6675 §5.1: after a timeout resend only what the peer does not hold; RFC 5681 (4) for
  // the window. Linux tcp_enter_loss.
  if (recovery_ == Recovery::Open || !undo_possible_) { start_undo_episode(); }
  cc_->on_rto(now, pipe());
  ecn_.on_loss_reduction(snd_.nxt);
  sb_.mark_all_lost();
  recovery_ = Recovery::Loss;
  recover_ = snd_.nxt;
  dupacks_ = 0;
  reorder_.reset();
  tlp_end_.reset();
}

void Connection::start_undo_episode() noexcept {
  undo_possible_ = true;
  undo_marker_ = snd_.una;
  // Linux tcp_init_undo: -1 until a retransmission of this episode counts.
  undo_retrans_ = sb_.retrans() > 0 ? std::int64_t{sb_.retrans()} : std::int64_t{-1};
  retrans_tsval_.reset();
}

void Connection::undo() {
  // Linux tcp_undo_cwnd_reduction: the window comes back, and what waited to be resent only
  // because of this reduction no longer does.
  cc_->on_undo();
  sb_.unmark_lost();
  recovery_ = Recovery::Open;
  undo_possible_ = false;
  stats_.add(Counter::TcpSpuriousUndos);
}

void Connection::update_prr(std::uint32_t delivered) noexcept {
  // RFC 6937 §3, in bytes: proportional while pipe exceeds ssthresh, then the slow-start
  // reduction bound brings pipe up to ssthresh.
  prr_delivered_ += delivered;
  const std::uint32_t in_flight = pipe();
  const std::uint32_t target = cc_->ssthresh();
  std::int64_t sndcnt = 0;
  if (in_flight > target) {
    const std::uint64_t allowed =
        (std::uint64_t{prr_delivered_} * target + recover_fs_ - 1) / recover_fs_;
    sndcnt = static_cast<std::int64_t>(allowed) - prr_out_;
  } else {
    // Deviation: SSRB adds one MSS per ACK, slow start's increase when an ACK covers a segment
    // or two. A GRO receiver sends one ACK per TSO burst of dozens, and one MSS per burst
    // would rebuild a collapsed pipe one segment per round trip while the last resent burst
    // waits to be lost. The increase is counted in bytes instead (half of what the ACK
    // delivered, as per-ACK growth under delayed ACKs is; RFC 3465), still capped at ssthresh.
    const std::int64_t increase = std::max<std::int64_t>(mss_, delivered / 2);
    const std::int64_t limit =
        std::max<std::int64_t>(std::int64_t{prr_delivered_} - prr_out_, delivered) + increase;
    sndcnt = std::min<std::int64_t>(std::int64_t{target} - in_flight, limit);
  }
  // Linux tcp_cwnd_reduction: the first retransmission of the episode always goes.
  sndcnt = std::max<std::int64_t>(sndcnt, prr_out_ == 0 ? std::int64_t{mss_} : 0);
  prr_cwnd_ = in_flight + static_cast<std::uint32_t>(sndcnt);
}

void Connection::on_tlp_ack(Instant now, const TcpSegment& seg, bool dsack, bool advanced) {
  // RFC 8985 §7.4, as Linux's tcp_process_tlp_ack: did the probe repair a loss?
  if (!tlp_end_ || seg.ack < *tlp_end_) { return; }
  if (!tlp_retrans_ || dsack) {
    tlp_end_.reset();  // new data was probed, or both the original and the probe arrived
  } else if (*tlp_end_ < seg.ack) {
    // The probe's ACK moved past it: something was lost and the probe repaired it. Reduce the
    // window once, as for any loss, without a recovery episode.
    tlp_end_.reset();
    cc_->on_congestion(now, pipe());
    cc_->on_recovery_end(now);
    stats_.add(Counter::TcpLossProbeRecoveries);
  } else if (!advanced && seg.payload.empty()) {
    tlp_end_.reset();  // a pure duplicate: the original and the probe both arrived
  }
}

void Connection::on_reorder_timeout(Instant now) {
  reorder_.reset();
  const std::uint32_t lost_before = sb_.lost();
  detect_losses(now, false);
  if (recovery_ == Recovery::Open && sb_.lost() > lost_before) { enter_fast_recovery(now); }
}

}  // namespace tapsrv::tcp
