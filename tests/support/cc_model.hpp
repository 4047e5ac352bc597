// Deterministic models that drive a tcp::CongestionControl in virtual time, for the cc tests:
// a bulk sender over a drop-tail bottleneck (BottleneckModel), and a plain ACK clock with no
// queue at all (AckClock) for checking window curves against their formulas.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <set>
#include <vector>

#include "tapsrv/tcp/congestion.hpp"

namespace tapsrv::test {

using namespace std::chrono_literals;

struct LinkConfig {
  std::uint64_t rate = 1'250'000;  // bottleneck bytes per second (10 Mbit/s)
  Duration base_rtt = 40ms;        // propagation there and back, no queueing or serialisation
  std::uint32_t queue = 200'000;   // drop-tail buffer in bytes, the segment in service included
  std::uint32_t mss = 1448;
};

/// The sender's and the link's state after one ACK.
struct CcTracePoint {
  Instant t{};
  std::uint32_t cwnd = 0, ssthresh = 0, in_flight = 0, queue = 0;
  std::optional<std::uint64_t> pacing;
  bool in_recovery = false;
};

/// A sender with unlimited data, one MSS per segment, ACKed one by one by a receiver one
/// propagation delay behind a FIFO bottleneck. The sender does what the brief says the
/// connection does: rate samples as Linux's tcp_rate.c, loss detection as RACK with no
/// reordering window (exact for a FIFO path: a later segment's ACK proves an earlier one
/// lost), PRR-SSRB during fast recovery when uses_prr() (RFC 6937), an RTO with back-off,
/// and pacing at pacing_rate() when the algorithm has one.
class BottleneckModel {
 public:
  BottleneckModel(LinkConfig link, tcp::CongestionControl& cc);

  void run_for(Duration d);
  /// Segments sent from now on see this propagation delay (a route change).
  void set_base_rtt(Duration rtt) noexcept { link_.base_rtt = rtt; }

  [[nodiscard]] Instant now() const noexcept { return now_; }
  [[nodiscard]] const LinkConfig& link() const noexcept { return link_; }
  /// Bytes waiting at the bottleneck now.
  [[nodiscard]] std::uint32_t queue_bytes() const noexcept;
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return pipe_; }
  [[nodiscard]] const std::vector<CcTracePoint>& trace() const noexcept { return trace_; }
  [[nodiscard]] std::uint64_t drops() const noexcept { return drops_; }
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }
  [[nodiscard]] unsigned congestion_events() const noexcept { return congestion_events_; }
  [[nodiscard]] unsigned rtos() const noexcept { return rtos_; }
  [[nodiscard]] std::uint32_t max_queue() const noexcept { return max_queue_; }
  /// The bandwidth-delay product of the path, bytes.
  [[nodiscard]] std::uint64_t bdp() const noexcept;

  /// Called after every on_ack() with the sample the algorithm got.
  std::function<void(const tcp::AckSample&)> on_ack_hook;

 private:
  enum class SegState : std::uint8_t { InFlight, Lost, Acked };
  struct Segment {
    SegState state = SegState::InFlight;
    std::uint64_t tx = 0;  // serial of the latest transmission
    bool retransmitted = false;
    Instant sent{};
    // Rate-sample bookkeeping at the latest transmission (tcp_rate_skb_sent).
    Instant first_sent{}, delivered_time{};
    std::uint64_t delivered = 0;
    bool app_limited = false;
  };
  struct Arrival {  // an ACK on its way back
    Instant at;
    std::uint64_t id, tx;
    bool operator>(const Arrival& o) const noexcept {
      return at > o.at || (at == o.at && tx > o.tx);
    }
  };

  void try_send();
  void transmit(std::uint64_t id);
  void on_arrival(const Arrival& a);
  void on_rto_fired();
  void rtt_sample(Duration r) noexcept;
  [[nodiscard]] std::uint32_t send_window() const noexcept;

  LinkConfig link_;
  tcp::CongestionControl& cc_;
  Instant now_{};
  std::vector<Segment> segs_;
  std::uint64_t una_ = 0;  // lowest segment not acknowledged
  std::set<std::uint64_t> lost_;
  std::queue<std::pair<std::uint64_t, std::uint64_t>> sent_order_;  // (id, tx), oldest first
  std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> arrivals_;
  std::uint64_t next_tx_ = 0;
  std::uint32_t pipe_ = 0;
  double link_free_us_ = 0;  // when the bottleneck finishes what it holds (µs since start)
  double next_send_us_ = 0;  // pacing: earliest next departure from the sender
  bool cwnd_limited_ = true;
  // Delivery rate state (tcp_rate.c).
  std::uint64_t delivered_ = 0;
  Instant delivered_time_{}, first_sent_time_{};
  // RTT (RFC 6298) and the RTO.
  std::optional<Duration> srtt_, rttvar_, min_rtt_;
  Duration rto_ = 1s;
  std::optional<Instant> rto_at_;
  // Recovery and PRR (RFC 6937).
  bool in_recovery_ = false, fast_recovery_ = false;
  std::uint64_t recovery_point_ = 0;
  std::uint64_t prr_delivered_ = 0, prr_out_ = 0, recover_fs_ = 0;
  std::int64_t prr_allowance_ = 0;
  std::uint64_t drops_ = 0;
  unsigned congestion_events_ = 0, rtos_ = 0;
  std::uint32_t max_queue_ = 0;
  std::vector<CcTracePoint> trace_;
};

/// Congestion avoidance without a network: every round trip delivers the current window as
/// one-MSS ACKs spread evenly over `rtt`, each carrying that RTT and a rate sample, so a
/// window's curve over time can be compared with its formula.
class AckClock {
 public:
  AckClock(tcp::CongestionControl& cc, Duration rtt, std::uint32_t mss) noexcept
      : cc_{cc}, rtt_{rtt}, mss_{mss} {}
  /// One round trip's ACKs; `cwnd_limited` as the sender would report it.
  void round(bool cwnd_limited = true);
  /// Rounds until at least `d` passed.
  void run_for(Duration d, bool cwnd_limited = true);
  /// Time passes with nothing sent (an idle application).
  void idle(Duration d) noexcept { now_ += d; }
  [[nodiscard]] Instant now() const noexcept { return now_; }
  void set_rtt(Duration rtt) noexcept { rtt_ = rtt; }
  std::function<void(const tcp::AckSample&)> on_ack_hook;

 private:
  tcp::CongestionControl& cc_;
  Duration rtt_;
  std::uint32_t mss_;
  Instant now_{};
  std::uint64_t delivered_ = 0;
};

}  // namespace tapsrv::test
