// ECN for one TCP connection (RFC 3168 §6.1): the handshake that agrees on it, which of our
// segments are ECT(0), echoing CE back as ECE, and answering ECE once per window with CWR.
#pragma once

#include <cstdint>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/wire/ipv4.hpp"
#include "tapsrv/wire/seq.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// What a segment we send carries for ECN: its IP codepoint and the TCP flags to add to it.
struct EcnMarking {
  wire::Ecn ecn = wire::Ecn::NotEct;
  std::uint8_t flags = 0;  // wire::TcpFlags bits (kEce, kCwr) to OR into the segment's
  friend constexpr bool operator==(EcnMarking, EcnMarking) noexcept = default;
};

/// The RFC 3168 state of one connection, shaped like Linux's tp->ecn_flags (TCP_ECN_OK,
/// _QUEUE_CWR, _DEMAND_CWR, _SEEN) plus the high_seq of its CWR state. Pure: the connection
/// calls it at the points below and applies what it returns; everything is a no-op (and every
/// marking Not-ECT without flags) unless the handshake agreed on ECN.
class EcnState {
 public:
  /// `cfg` and `stats` must outlive the state.
  EcnState(const Config& cfg, Stats& stats) noexcept : cfg_{cfg}, stats_{stats} {}

  /// RFC 3168 §6.1.1: an ECN-setup SYN has both ECE and CWR.
  [[nodiscard]] static constexpr bool is_setup_syn(wire::TcpFlags f) noexcept {
    return f.syn() && f.ece() && f.cwr();
  }

  // --- Handshake (§6.1.1) ---
  /// Passive open: the peer's SYN, with the IP codepoint it came with. Decides whether this
  /// connection uses ECN (counted in tcp_ecn_negotiated). Call once per connection.
  void on_syn(const wire::TcpSegment& syn) noexcept;
  /// TCP flags for every transmission of our SYN-ACK: ECE when we agreed, never CWR.
  [[nodiscard]] std::uint8_t syn_ack_flags() const noexcept;
  /// Active open: TCP flags for our SYN (ECE|CWR when configured to ask). A retransmitted SYN
  /// asks no more, in case ECN is what a middlebox drops (§6.1.1.1, Linux tcp_ecn_clear_syn).
  [[nodiscard]] std::uint8_t syn_flags(bool retransmission) noexcept;
  /// Active open: the peer's SYN-ACK. ECE without CWR confirms our request (§6.1.1).
  void on_syn_ack(const wire::TcpSegment& syn_ack) noexcept;
  /// Whether the handshake agreed on ECN.
  [[nodiscard]] bool enabled() const noexcept { return ok_; }

  // --- Data receiver (§6.1.3) ---
  /// Each segment that passed the acceptability test of RFC 9293 §3.10.7.4, after its ACK was
  /// processed, with its IP codepoint in `seg.ecn`. Returns true when the ACK for it should go
  /// at once rather than be delayed.
  [[nodiscard]] bool on_segment(const wire::TcpSegment& seg) noexcept;
  /// Whether our segments carry ECE: a CE arrived and no CWR since.
  [[nodiscard]] bool is_echoing_ce() const noexcept { return demand_cwr_; }

  // --- Data sender (§6.1.2) ---
  /// Each ACK the connection accepts in a synchronized state (SND.UNA =< SEG.ACK =< SND.NXT;
  /// older ones are ignored, as Linux's tcp_ack does). `snd_nxt` is SND.NXT when it arrives.
  /// Returns true when the connection must reduce its congestion window now, as for a loss:
  /// at most once per window of data. Counts tcp_ece_received and tcp_ecn_reductions.
  [[nodiscard]] bool on_ack(const wire::TcpSegment& ack, wire::SeqNum snd_nxt) noexcept;
  /// The connection reduced its window for a loss (fast retransmit, RTO) with SND.NXT at
  /// `snd_nxt`: ECE in this window then asks for nothing more, and the next new data carries
  /// CWR, which §6.1.2 asks for after a reduction of any cause.
  void on_loss_reduction(wire::SeqNum snd_nxt) noexcept;
  /// True from a reduction until an ACK acknowledges data sent after it (Linux's TCP_CA_CWR).
  /// Loss recovery can ask it, as Linux's tcp_in_cwnd_reduction, to avoid reducing twice.
  [[nodiscard]] bool is_reducing() const noexcept { return reducing_; }

  // --- Output ---
  /// ECT(0) for new data only: never for SYN or SYN-ACK (§6.1.1; RFC 8311 would allow it,
  /// Linux does not), pure ACKs, window probes and keepalives (§6.1.4, §6.1.6) or
  /// retransmissions (§6.1.5). `is_retransmission`: the payload starts before the highest
  /// sequence number ever sent.
  [[nodiscard]] wire::Ecn codepoint_for(bool has_data, bool is_retransmission) const noexcept;
  /// For every segment we send except SYN and SYN-ACK: the codepoint above, ECE while echoing
  /// CE, and CWR on the first new data after a reduction (then no more until the next one).
  [[nodiscard]] EcnMarking on_send(bool has_data, bool is_retransmission) noexcept;

 private:
  void start_reduction(wire::SeqNum snd_nxt) noexcept;

  const Config& cfg_;
  Stats& stats_;
  bool requested_ = false;   // our SYN asked for ECN
  bool ok_ = false;          // TCP_ECN_OK: agreed
  bool demand_cwr_ = false;  // TCP_ECN_DEMAND_CWR: echo ECE until CWR arrives
  bool seen_ect_ = false;    // TCP_ECN_SEEN: data arrived ECT or CE at least once
  bool queue_cwr_ = false;   // TCP_ECN_QUEUE_CWR: the next new data carries CWR
  bool reducing_ = false;    // TCP_CA_CWR
  wire::SeqNum high_seq_{};  // SND.NXT at the last reduction
};

}  // namespace tapsrv::tcp
