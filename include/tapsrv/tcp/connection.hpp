// One TCP connection: the TCB of RFC 9293 §3.3.1 and the processing of §3.10, server side.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/buffer_budget.hpp"
#include "tapsrv/tcp/byte_ring.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/congestion.hpp"
#include "tapsrv/tcp/connection_info.hpp"
#include "tapsrv/tcp/delivery_rate.hpp"
#include "tapsrv/tcp/ecn.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/handler.hpp"
#include "tapsrv/tcp/outbox.hpp"
#include "tapsrv/tcp/rack.hpp"
#include "tapsrv/tcp/reassembly.hpp"
#include "tapsrv/tcp/rtt.hpp"
#include "tapsrv/tcp/scoreboard.hpp"
#include "tapsrv/tcp/state.hpp"
#include "tapsrv/tcp/time_wait.hpp"
#include "tapsrv/tcp/timer_wheel.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Pure: time comes in as an argument, segments go out through an Outbox. The engine owns
/// connections; a service sees one through its ConnectionHandler callbacks.
class Connection {
 public:
  /// What happened for the handler since the last take_events().
  enum Event : std::uint8_t { kEstablished = 1, kReadable = 2, kWritable = 4 };

  /// `cfg`, `stats`, `obs` and `budget` must outlive the connection.
  Connection(const Config& cfg, const FourTuple& id, Stats& stats, Observer& obs,
             BufferBudget& budget);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // --- Engine side -------------------------------------------------------------------------
  /// RFC 9293 §3.10.7.2: a SYN reached a listener; answer SYN,ACK and enter SYN_RECEIVED.
  void open_passive(Instant now, const wire::TcpSegment& syn, wire::SeqNum iss, Outbox& out);
  /// RFC 4987 §3.6: `ack` carried a valid SYN cookie `iss` for the SYN rebuilt as `syn`. Sets up
  /// SYN_RECEIVED as open_passive() would have (sending nothing), then takes `ack` through
  /// §3.10.7.4 like on_segment() but without counting it again: it establishes the connection
  /// and queues its data. Precondition: `ack` has ACK set and neither SYN nor RST.
  void open_from_cookie(Instant now, const wire::TcpSegment& syn, wire::SeqNum iss,
                        const wire::TcpSegment& ack, Outbox& out);
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
  /// Bytes of storage its buffers hold (what it charged to the engine's BufferBudget).
  [[nodiscard]] std::size_t buffer_storage() const noexcept {
    return snd_buf_.allocated() + rcv_buf_.allocated();
  }
  /// Whether any buffer holds storage (a connection that moved data, until released).
  [[nodiscard]] bool holds_buffers() const noexcept {
    return snd_buf_.allocated() != 0 || rcv_buf_.allocated() != 0;
  }
  /// Gives back the storage of empty buffers, so that an idle connection costs only its TCB;
  /// they grow again on demand; counted in tcp_buffer_bytes_released. Returns !holds_buffers().
  bool release_idle_buffers() noexcept;
  /// Engine bookkeeping for the idle-buffer sweep: the connection's place in its list, and
  /// whether it moved data since the last sweep.
  std::uint32_t sweep_slot = kNotInSweep;
  bool active_since_sweep = false;
  /// The engine's timer for this connection, armed at next_deadline().
  TimerNode timer{.owner = this};
  static constexpr std::uint32_t kNotInSweep = 0xffffffffU;
  /// Its place in the engine's list of all connections (for ConnectionCursor walks).
  ListHook all_hook{this};
  /// Its figures at `now` (connection_info.cpp).
  [[nodiscard]] ConnectionInfo info(Instant now) const noexcept;
  /// What TIME_WAIT needs once the connection is gone. Precondition: state() is TimeWait.
  [[nodiscard]] TimeWaitRecord time_wait_record() const noexcept;
  /// A TAPSRV_BUG_IF found this connection inconsistent (release policy): the engine resets it
  /// at the end of the call in progress. Anything may mark it; nothing unmarks it.
  void mark_broken() noexcept { broken_ = true; }
  [[nodiscard]] bool is_broken() const noexcept { return broken_; }

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
  /// The window the sender fills now: PRR's during fast recovery, the algorithm's otherwise.
  [[nodiscard]] std::uint32_t cwnd() const noexcept;
  [[nodiscard]] std::uint32_t ssthresh() const noexcept;
  /// Loss-recovery phase, as Linux's icsk_ca_state (Open covers Disorder here).
  enum class Recovery : std::uint8_t { Open, Fast, Loss };
  [[nodiscard]] Recovery recovery() const noexcept { return recovery_; }
  /// The windowed minimum RTT (Linux tcp_min_rtt) that RACK and the congestion control use.
  [[nodiscard]] Duration min_rtt() const noexcept { return min_rtt_; }
  [[nodiscard]] const Scoreboard& scoreboard() const noexcept { return sb_; }
  [[nodiscard]] const RttEstimator& rtt() const noexcept { return rtt_; }
  [[nodiscard]] const CongestionControl* congestion_control() const noexcept { return cc_.get(); }
  [[nodiscard]] std::uint16_t mss() const noexcept { return mss_; }
  [[nodiscard]] std::size_t send_buffered() const noexcept { return snd_buf_.size(); }
  [[nodiscard]] std::size_t recv_buffered() const noexcept { return rcv_buf_.size(); }

 private:
  enum class Step : std::uint8_t { Continue, Stop };

  /// The TCB after a SYN reached a listener (RFC 9293 §3.10.7.2), before any SYN-ACK.
  void accept_syn(Instant now, const wire::TcpSegment& syn, wire::SeqNum iss, Cause cause);

  // syn_sent.cpp: RFC 9293 §3.10.7.3.
  void on_syn_sent(Instant now, const wire::TcpSegment& seg, Outbox& out);
  /// Linux tcp_oow_rate_limited: whether a reply to an unacceptable segment (challenge ACK,
  /// repeated SYN,ACK) must be withheld now; otherwise it counts as sent at `now`.
  [[nodiscard]] bool oow_rate_limited(Instant now) noexcept;
  void challenge_ack(Instant now) noexcept;
  /// RFC 7323 §5.3 R1 with §5.5: whether PAWS lets a segment with `tsval` pass (Linux
  /// tcp_paws_check with no window).
  [[nodiscard]] bool paws_allows(Instant now, std::uint32_t tsval) const noexcept;
  /// RFC 7323 §4.3 (2): TS.Recent from `in` (as it arrived), once it has been accepted.
  void update_ts_recent(Instant now, const wire::TcpSegment& in) noexcept;
  /// RFC 9293 §3.10.7.4 first (and RFC 7323 PAWS): the ACK owed for an unacceptable segment.
  void ack_unacceptable(Instant now, const wire::TcpSegment& seg) noexcept;
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
  void on_new_ack(Instant now, const wire::TcpSegment& seg);
  [[nodiscard]] unsigned duplicate_threshold() const noexcept;

  // recovery.cpp: what an ACK tells the sender (RFC 6675, RFC 8985, RFC 6937, undo).
  class AckDelivery;
  /// Everything an acceptable ACK (SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT) changes on the
  /// sending side: scoreboard, RTT, loss detection, recovery, the congestion window.
  void on_ack(Instant now, const wire::TcpSegment& seg, bool duplicate);
  /// RFC 2883 §4: the first SACK block reports a duplicate when it lies below SEG.ACK or
  /// inside the second block.
  [[nodiscard]] static bool is_dsack(const wire::TcpSegment& seg) noexcept;
  void take_rtt_sample(Instant now, const wire::TcpSegment& seg, const AckDelivery& d);
  void detect_losses(Instant now, bool new_sack);
  void enter_fast_recovery(Instant now);
  void start_undo_episode() noexcept;
  void undo();
  void update_prr(std::uint32_t delivered) noexcept;
  void on_tlp_ack(Instant now, const wire::TcpSegment& seg, bool dsack, bool advanced);
  /// RFC 6675 pipe; without SACK, each duplicate ACK stands for a segment that left the
  /// network (Linux tcp_add_reno_sack).
  [[nodiscard]] std::uint32_t pipe() const noexcept;
  /// Resends up to `max_len` bytes of scoreboard entry `i`.
  void retransmit(Instant now, Outbox& out, std::size_t i, std::uint32_t max_len);
  /// Sends one new segment of at most `len` bytes at SND.NXT, or nothing when Nagle or sender
  /// SWS avoidance holds it back; returns whether it sent.
  bool send_new_data(Instant now, Outbox& out, std::uint32_t len, std::uint32_t unsent);
  void on_reorder_timeout(Instant now);
  void on_rto_recovery(Instant now);
  [[nodiscard]] TxStamp tx_stamp(Instant now) noexcept { return rate_.on_send(now, sb_.empty()); }
  /// Linux tcp_should_expand_sndbuf + tcp_sndbuf_expand: grow the send buffer when it, not a
  /// window, is what holds the sender back.
  void maybe_grow_send_buffer() noexcept;
  /// Pacing, when the congestion controller asks for it: whether a segment may go at `now`
  /// (else the pacing timer is armed), and the schedule after one of `bytes` went.
  [[nodiscard]] bool pacing_allows(Instant now) noexcept;
  void on_paced(Instant now, std::uint32_t bytes) noexcept;
  void update_send_window(const wire::TcpSegment& seg);
  void fin_acked(Instant now, const wire::TcpSegment& seg);
  void peer_fin(Instant now, const wire::TcpSegment* seg);

  /// SACK blocks our next ACK carries: the out-of-order ranges, as many as the 40 bytes of
  /// option space hold beside timestamps.
  [[nodiscard]] std::size_t sack_blocks_to_send() const noexcept;
  /// The payload one segment may carry now: the MSS less the SACK option that rides along.
  /// Bytes the receive window may cover beyond RCV.NXT now (less than the buffer's free space
  /// under memory pressure).
  [[nodiscard]] std::size_t receive_space() const noexcept;
  [[nodiscard]] std::uint32_t send_mss() const noexcept;

  // output.cpp
  void send_segment(Instant now, Outbox& out, wire::SeqNum seq, std::uint8_t flags,
                    wire::Bytes payload);
  void send_syn_ack(Instant now, Outbox& out) { send_syn(now, out, true); }
  [[nodiscard]] std::uint16_t advertise_window();
  [[nodiscard]] std::uint32_t ts_clock(Instant now) const noexcept;
  [[nodiscard]] wire::SeqNum data_end() const noexcept;
  void arm_retransmit(Instant now) noexcept;
  /// SND.NXT moves to `end` after a transmission; SND.MAX follows, and the RTO starts if idle.
  void advance_nxt(Instant now, wire::SeqNum end) noexcept;
  [[nodiscard]] Duration persist_interval() const noexcept;

  // timers.cpp
  void on_retransmit_timeout(Instant now, Outbox& out);
  void on_persist_timeout(Instant now, Outbox& out);
  /// The persist timer, backed off, and never later than the user timeout of probing.
  void arm_persist(Instant now) noexcept;
  /// abort() because a timer gave up on the peer; counted in tcp_aborts_on_timeout.
  void abort_on_timeout(Instant now, Outbox& out, Cause cause);
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
  BufferBudget& budget_;
  std::unique_ptr<ConnectionHandler> handler_;
  HandlerFactory* factory_ = nullptr;
  bool passive_ = true;  // opened by a listener: a reset SYN_RECEIVED returns to LISTEN
  bool broken_ = false;  // see mark_broken()
  State state_ = State::Listen;
  std::uint8_t events_ = 0;

  SendVars snd_;
  RecvVars rcv_;
  wire::SeqNum iss_{};
  wire::SeqNum irs_{};
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
  Instant ts_recent_at_{};  // when TS.Recent was last recorded (Linux ts_recent_stamp)
  // RFC 7323 §5.5: TS.Recent of a connection idle longer than this is no longer trusted.
  static constexpr Duration kPawsIdleLimit = std::chrono::hours{24 * 24};
  wire::SeqNum last_ack_sent_{};

  // Closing.
  bool fin_queued_ = false;  // close() was called
  bool fin_sent_ = false;    // our FIN occupies [fin_seq_, fin_seq_ + 1)
  wire::SeqNum fin_seq_{};
  bool peer_fin_ = false;                     // the peer's FIN was received in order
  std::optional<wire::SeqNum> peer_fin_seq_;  // a FIN that arrived ahead of missing data

  // Sending under loss: what is in flight (RFC 6675), RACK (RFC 8985), delivery rate, and the
  // congestion controller, made at the handshake once the MSS is known.
  Scoreboard sb_;
  Rack rack_;
  DeliveryRate rate_;
  std::unique_ptr<CongestionControl> cc_;
  EcnState ecn_{cfg_, stats_};  // RFC 3168
  Recovery recovery_ = Recovery::Open;
  wire::SeqNum recover_{};         // RFC 6675 RecoveryPoint (Linux high_seq); SND.UNA when Open
  unsigned dupacks_ = 0;           // without SACK only (RFC 5681 §3.2, RFC 6582)
  bool cwnd_limited_ = false;      // the last flight stopped at cwnd (RFC 7661)
  wire::SeqNum cwnd_usage_seq_{};  // cwnd_limited_ describes the flight ending here
  // PRR (RFC 6937 §3), in bytes.
  std::uint32_t prr_delivered_ = 0;
  std::uint32_t prr_out_ = 0;
  std::uint32_t recover_fs_ = 0;
  std::uint32_t prr_cwnd_ = 0;
  // Undo of a spurious reduction: DSACKs for every retransmission (Linux undo_retrans), or an
  // ACK echoing a timestamp older than our first retransmission (Eifel, RFC 3522).
  bool undo_possible_ = false;
  std::int64_t undo_retrans_ = 0;  // bytes retransmitted in the episode, less those DSACKed
  wire::SeqNum undo_marker_{};     // SND.UNA when the episode began
  std::optional<std::uint32_t> retrans_tsval_;
  // Tail loss probe episode (RFC 8985 §7.4).
  std::optional<wire::SeqNum> tlp_end_;
  bool tlp_retrans_ = false;

  // RTT (RFC 6298) from ranges sent once (Karn), else from timestamps (RFC 7323 §4); the
  // windowed minimum feeds RACK and the congestion controller.
  RttEstimator rtt_;
  Duration min_rtt_{};
  Instant min_rtt_at_{};

  // Timers are plain data; next_deadline() is their minimum.
  std::optional<Instant> retransmit_;
  std::optional<Instant> loss_probe_;  // RFC 8985 §7 tail loss probe, earlier than the RTO
  std::optional<Instant> reorder_;     // RFC 8985 §6.3 RACK reordering timer
  std::optional<Instant> pace_;        // the pacing rate lets the next segment go then
  Instant pacing_next_{};              // when the paced schedule allows the next byte
  bool probe_outstanding_ = false;     // one probe per flight, until an ACK advances SND.UNA
  std::optional<Instant> persist_;
  std::optional<Instant> delayed_ack_;
  std::optional<Instant> time_wait_;  // when TIME_WAIT ends; the record keeps the time
  std::optional<Instant> fin_wait2_;
  std::optional<Instant> keepalive_;
  unsigned keepalive_probes_ = 0;
  std::optional<Instant> unacked_since_;  // oldest unacknowledged data was first sent then
  unsigned retries_ = 0;
  unsigned persist_backoff_ = 0;
  unsigned probes_out_ = 0;               // zero-window probes unanswered (Linux icsk_probes_out)
  std::optional<Instant> probing_since_;  // first probe at this zero window (icsk_probes_tstamp)
  bool ack_now_ = false;
  std::optional<Instant> last_challenge_;  // RFC 5961 §7 rate limit (Linux last_oow_ack_time)
  bool sws_override_ = false;        // the persist timer lets one short segment past SWS avoidance
  std::uint32_t unacked_bytes_ = 0;  // received since our last ACK

  // For info(): when it began and entered its state, and what it moved (RFC 4898 names).
  std::optional<Instant> created_;
  Instant state_since_{};
  std::uint64_t retransmits_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_acked_ = 0;
  std::uint64_t bytes_received_ = 0;
};

}  // namespace tapsrv::tcp
