// One TCP connection: the TCB of RFC 9293 §3.3.1 and the processing of §3.10, server side.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/byte_ring.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/handler.hpp"
#include "tapsrv/tcp/outbox.hpp"
#include "tapsrv/tcp/reassembly.hpp"
#include "tapsrv/tcp/rtt.hpp"
#include "tapsrv/tcp/state.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Pure: time comes in as an argument, segments go out through an Outbox. The engine owns
/// connections; a service sees one through its ConnectionHandler callbacks.
class Connection {
 public:
  /// What happened for the handler since the last take_events().
  enum Event : std::uint8_t { kEstablished = 1, kReadable = 2, kWritable = 4 };

  /// `cfg`, `stats` and `obs` must outlive the connection.
  Connection(const Config& cfg, const FourTuple& id, Stats& stats, Observer& obs);

  // --- Engine side -------------------------------------------------------------------------
  /// RFC 9293 §3.10.7.2: a SYN reached a listener; answer SYN,ACK and enter SYN_RECEIVED.
  void open_passive(Instant now, const wire::TcpSegment& syn, wire::SeqNum iss, Outbox& out);
  /// RFC 9293 §3.10.1 active OPEN: send SYN and enter SYN_SENT.
  void open_active(Instant now, wire::SeqNum iss, Outbox& out);
  /// RFC 9293 §3.10.7.3 and §3.10.7.4 for a segment of this connection.
  void on_segment(Instant now, const wire::TcpSegment& seg, Outbox& out);
  /// Runs every timer that is due at `now`.
  void on_timers(Instant now, Outbox& out);
  /// Sends what the buffers, windows and flags allow (data, FIN, pending ACK).
  void output(Instant now, Outbox& out);
  /// Resets the connection (RST if synchronized) and enters CLOSED.
  void abort(Instant now, Outbox& out, Cause cause);
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  [[nodiscard]] std::uint8_t take_events() noexcept { return std::exchange(events_, 0); }
  /// The last segment was a SYN that ended TIME_WAIT (RFC 6191): open it anew at the listener.
  [[nodiscard]] bool wants_reopen() const noexcept { return reopen_; }

  // --- Service side (RFC 9293 §3.10 SEND, RECEIVE, CLOSE) ----------------------------------
  [[nodiscard]] std::size_t readable() const noexcept { return rcv_buf_.size(); }
  /// Up to `max` readable bytes without copying; valid until the next call on this connection.
  [[nodiscard]] wire::Bytes peek(std::size_t max) const noexcept {
    return rcv_buf_.contiguous_at(0, max);
  }
  /// Drops `n` bytes that were read with peek(). Precondition: n <= readable().
  void consume(std::size_t n) noexcept;
  /// Free space in the send buffer; 0 once close() was called.
  [[nodiscard]] std::size_t writable() const noexcept;
  /// Queues up to writable() bytes of `data`; returns how many.
  std::size_t write(wire::Bytes data);
  /// Sends FIN after the queued data (active close, or our half of a passive one).
  void close();
  /// The peer sent FIN and every byte before it has been read.
  [[nodiscard]] bool peer_closed() const noexcept { return peer_fin_ && rcv_buf_.empty(); }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] const FourTuple& id() const noexcept { return id_; }
  [[nodiscard]] ConnectionHandler* handler() const noexcept { return handler_.get(); }
  void set_handler(std::unique_ptr<ConnectionHandler> h) noexcept { handler_ = std::move(h); }
  /// Makes the handler once the connection is established; set by the engine.
  [[nodiscard]] HandlerFactory* factory() const noexcept { return factory_; }
  void set_factory(HandlerFactory* f) noexcept { factory_ = f; }

  /// For tests and invariants: the send-side sequence variables.
  struct SendVars {
    wire::SeqNum una{}, nxt{}, wl1{}, wl2{};
    std::uint32_t wnd = 0;      // scaled, in bytes
    std::uint32_t max_wnd = 0;  // largest window the peer ever offered
  };
  struct RecvVars {
    wire::SeqNum nxt{};
    wire::SeqNum adv_right{};  // RCV.NXT + RCV.WND as last advertised; never moves left
  };
  [[nodiscard]] const SendVars& snd() const noexcept { return snd_; }
  [[nodiscard]] const RecvVars& rcv() const noexcept { return rcv_; }
  [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }
  [[nodiscard]] std::uint16_t mss() const noexcept { return mss_; }
  [[nodiscard]] std::size_t send_buffered() const noexcept { return snd_buf_.size(); }
  [[nodiscard]] std::size_t recv_buffered() const noexcept { return rcv_buf_.size(); }

 private:
  enum class Step : std::uint8_t { Continue, Stop };

  // syn_sent.cpp: RFC 9293 §3.10.7.3.
  void on_syn_sent(Instant now, const wire::TcpSegment& seg, Outbox& out);
  [[nodiscard]] bool is_new_incarnation(const wire::TcpSegment& syn) const noexcept;
  void challenge_ack(Instant now) noexcept;
  void negotiate(const wire::TcpOptions& peer);
  void start_send_sequence(wire::SeqNum iss) noexcept;
  void send_syn(Instant now, Outbox& out, bool with_ack);

  // segment_arrives.cpp: RFC 9293 §3.10.7.4, one function per check.
  Step check_sequence(Instant now, wire::TcpSegment& seg);
  Step check_rst(Instant now, const wire::TcpSegment& seg, Outbox& out);
  Step check_syn(Instant now, const wire::TcpSegment& seg, Outbox& out);
  Step check_ack(Instant now, const wire::TcpSegment& seg, Outbox& out);
  void process_text(Instant now, const wire::TcpSegment& seg);
  void check_fin(Instant now, const wire::TcpSegment& seg);
  void on_new_ack(Instant now, const wire::TcpSegment& seg, Outbox& out);
  void on_duplicate_ack(Instant now, Outbox& out);
  [[nodiscard]] unsigned duplicate_threshold() const noexcept;
  /// Records the peer's SACK blocks; true when they report bytes not reported before.
  bool note_sack_blocks(const wire::TcpSegment& seg) noexcept;
  void update_send_window(const wire::TcpSegment& seg);
  void fin_acked(Instant now, const wire::TcpSegment& seg);
  void peer_fin(Instant now, const wire::TcpSegment* seg);

  // output.cpp
  void send_segment(Instant now, Outbox& out, wire::SeqNum seq, std::uint8_t flags,
                    wire::Bytes payload);
  void send_syn_ack(Instant now, Outbox& out) { send_syn(now, out, true); }
  void retransmit_head(Instant now, Outbox& out);
  [[nodiscard]] std::uint16_t advertise_window();
  /// The most payload a segment sent now may carry: the MSS less the SACK blocks it will carry.
  [[nodiscard]] std::uint32_t payload_mss() const noexcept;
  [[nodiscard]] std::uint32_t ts_clock(Instant now) const noexcept;
  [[nodiscard]] wire::SeqNum data_end() const noexcept;
  void arm_retransmit(Instant now) noexcept;
  /// SND.NXT moves to `end` after a transmission; SND.MAX follows, and the RTO starts if idle.
  void advance_nxt(Instant now, wire::SeqNum end) noexcept;
  [[nodiscard]] Duration persist_interval() const noexcept;

  // timers.cpp
  void on_retransmit_timeout(Instant now, Outbox& out);
  void on_persist_timeout(Instant now, Outbox& out);
  void on_keepalive_timeout(Instant now, Outbox& out);
  /// The peer is alive: restart the keepalive idle period.
  void heard_from_peer(Instant now) noexcept;
  void on_loss_probe_timeout(Instant now, Outbox& out);
  void arm_loss_probe(Instant now) noexcept;

  void enter(State next, Instant now, Cause cause, const wire::TcpSegment* seg = nullptr);

  const Config& cfg_;
  FourTuple id_;
  Instant now_{};  // of the engine call in progress, for user calls made from handlers
  Stats& stats_;
  Observer& obs_;
  std::unique_ptr<ConnectionHandler> handler_;
  HandlerFactory* factory_ = nullptr;
  bool passive_ = true;
  bool reopen_ = false;  // opened by a listener: a reset SYN_RECEIVED returns to LISTEN
  State state_ = State::Listen;
  std::uint8_t events_ = 0;

  SendVars snd_;
  RecvVars rcv_;
  wire::SeqNum iss_{};
  wire::SeqNum irs_{};
  wire::SeqNum snd_max_{};   // highest SND.NXT ever, so go-back-N knows what is a resend
  wire::SeqNum data_seq_{};  // sequence number of snd_buf_'s first byte
  ByteRing snd_buf_;
  ByteRing rcv_buf_;
  Reassembly reassembly_;

  // Negotiated at the handshake (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
  std::uint16_t mss_ = 536;
  std::uint8_t snd_wscale_ = 0;
  std::uint8_t rcv_wscale_ = 0;
  bool wscale_ok_ = false;
  bool ts_enabled_ = false;
  bool sack_enabled_ = false;
  std::uint32_t ts_recent_ = 0;
  wire::SeqNum last_ack_sent_{};

  // Closing.
  bool fin_queued_ = false;  // close() was called
  bool fin_sent_ = false;    // our FIN occupies [fin_seq_, fin_seq_ + 1)
  wire::SeqNum fin_seq_{};
  bool peer_fin_ = false;                     // the peer's FIN was received in order
  std::optional<wire::SeqNum> peer_fin_seq_;  // a FIN that arrived ahead of missing data

  // Congestion control (RFC 5681) and recovery (RFC 6582).
  std::uint32_t cwnd_ = 0;
  std::uint32_t ssthresh_ = 0xffffffffU;
  unsigned dupacks_ = 0;
  bool in_recovery_ = false;
  wire::SeqNum recover_{};
  wire::SeqNum sack_high_{};  // highest right edge the peer's SACK blocks have reported

  // RTT (RFC 6298) with Karn's rule: one timed segment at a time, never a retransmitted one.
  RttEstimator rtt_;
  std::optional<wire::SeqNum> timed_seq_;
  Instant timed_at_{};

  // Timers are plain data; next_deadline() is their minimum.
  std::optional<Instant> retransmit_;
  std::optional<Instant> loss_probe_;  // RFC 8985 §7 tail loss probe, earlier than the RTO
  bool probe_outstanding_ = false;     // one probe per flight, until an ACK advances SND.UNA
  std::optional<Instant> persist_;
  std::optional<Instant> delayed_ack_;
  std::optional<Instant> time_wait_;
  std::optional<Instant> fin_wait2_;
  std::optional<Instant> keepalive_;
  unsigned keepalive_probes_ = 0;
  std::optional<Instant> unacked_since_;  // oldest unacknowledged data was first sent then
  unsigned retries_ = 0;
  unsigned persist_backoff_ = 0;
  bool ack_now_ = false;
  std::optional<Instant> last_challenge_;  // RFC 5961 §7 rate limit
  bool sws_override_ = false;        // the persist timer lets one short segment past SWS avoidance
  std::uint32_t unacked_bytes_ = 0;  // received since our last ACK
};

}  // namespace tapsrv::tcp
