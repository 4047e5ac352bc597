// The engine and the script's steps (the format is described in fuzz_tcp_script.cpp).
// Sequence and acknowledgment numbers are offsets from the connection's own RCV.NXT and SND.NXT
// (or SND.UNA); before the peer's SYN is known (no connection, or ours in SYN_SENT) from the
// peer's fixed ISS.
#include <array>
#include <memory>
#include <optional>

#include "fuzz/runs.hpp"
#include "fuzz/script_checks.hpp"
#include "fuzz/segment_input.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/tcp/engine.hpp"
#include "tapsrv/tcp/isn.hpp"

namespace tapsrv::fuzz {

namespace {

using namespace std::chrono_literals;

// Both sides wrap around 2^32 within the first few KiB, so wrap-around mistakes show early.
constexpr std::uint32_t kLocalIss = 0xfffff800U;
constexpr std::uint32_t kPeerIss = 0xffffff00U;
constexpr int kMaxTimerRuns = 64;

tcp::Config script_config(std::uint8_t b, const ScriptOpen& open) {
  const auto on_if = [b](unsigned bit) { return (b & bit) != 0; };
  // Small buffers, limits and timers, so that a few segments and seconds reach them all.
  return tcp::Config{
      .recv_buffer = 8192,
      .send_buffer = 8192,
      .msl = 500ms,
      .rto_max = 8s,
      .max_retransmits = 4,
      .max_synack_retransmits = 3,
      .max_syn_retransmits = 3,  // only active opens send SYNs: fuzz_tcp_script never does
      .fin_wait2_timeout = 3s,
      .keepalive_idle = on_if(0x40U) ? std::optional<Duration>{2s} : std::nullopt,
      .keepalive_interval = 1s,
      .keepalive_probes = 3,
      .user_timeout = on_if(0x80U) ? std::optional<Duration>{3s} : std::nullopt,
      .max_connections = kScriptPorts - 1,  // the last peer finds the table full
      .syn_backlog = 2,
      .window_scaling = !on_if(0x04U),
      .timestamps = !on_if(0x08U),
      .sack = !on_if(0x10U),
      .nagle = !on_if(0x20U),
      .ecn_on_connect = open.ecn_on_connect,
  };
}

// Deterministic payload bytes, so that a reordering bug shows up in the echo.
const std::array<std::byte, 255 * 16>& payload_pattern() {
  static const auto bytes = [] {
    std::array<std::byte, 255 * 16> b{};
    for (std::size_t i = 0; i < b.size(); ++i) {
      b[i] = std::byte{static_cast<std::uint8_t>(i * 7)};
    }
    return b;
  }();
  return bytes;
}

class ScriptRun {
 public:
  ScriptRun(std::uint8_t config, FuzzInput& in, const ScriptOpen& open)
      : cfg_{script_config(config, open)},
        checks_{cfg_, now_},
        engine_{cfg_, isn_, stats_, checks_},
        factory_{service::make_factory(static_cast<service::Kind>(config & 0x03U))},
        in_{in} {
    if (open.listener) { engine_.listen(now_, kScriptLocalIp, kScriptPort, *factory_); }
    for (std::size_t i = 0; i < kScriptPorts; ++i) {
      if ((open.connect_mask & (1U << i)) == 0) { continue; }
      // Null when the table is full (the last peer's, as for the listener): nothing is sent.
      const tcp::Connection* c = engine_.connect(now_, script_tuple(i), *factory_, checks_);
      require(c != nullptr || engine_.connection_count() == cfg_.max_connections,
              "connect() refused with room in the table", static_cast<long long>(i));
      checks_.after_step(engine_, stats_, false);
    }
  }

  void step() {
    advance_clock(
        now_, time_step(in_.u8()), kMaxTimerRuns, [&] { return engine_.next_deadline(); },
        [&] { timers(); });
    const auto seg = next_segment();
    engine_.on_segment(now_, kScriptPeerIp, kScriptLocalIp, seg, checks_);
    checks_.after_step(engine_, stats_, false);
  }

  RunSummary finish() {
    advance_clock(
        now_, 1h, kMaxTimerRuns * 4, [&] { return engine_.next_deadline(); }, [&] { timers(); });
    engine_.abort_all(now_, checks_);
    require(engine_.connection_count() == 0, "connections left after abort_all()");
    return RunSummary{.established = stats_.get(Counter::TcpConnectionsEstablished),
                      .bytes_sent = stats_.get(Counter::TcpBytesSent)};
  }

 private:
  void timers() {
    engine_.on_timers(now_, checks_);
    checks_.after_step(engine_, stats_, true);
  }

  wire::TcpSegment next_segment() {
    wire::TcpSegment s;
    s.flags = wire::TcpFlags{in_.u8()};
    const std::uint8_t control = in_.u8();
    const std::size_t peer = control & 0x03U;
    const std::uint32_t scale = (control & 0x08U) != 0 ? 65536U : 1U;
    const auto seq_off = static_cast<std::uint32_t>(static_cast<std::int16_t>(in_.be16())) * scale;
    const auto ack_off = static_cast<std::uint32_t>(static_cast<std::int16_t>(in_.be16())) * scale;
    s.window = in_.be16();
    const std::size_t len = std::size_t{in_.u8()} * ((control & 0x20U) != 0 ? 16 : 1);
    s.src_port = static_cast<std::uint16_t>(kScriptPeerPort + peer);
    s.dst_port = (control & 0x40U) != 0 ? kScriptPort + 1 : kScriptPort;

    const tcp::Connection* c = engine_.find(script_tuple(peer));
    const wire::SeqNum snd = c == nullptr             ? wire::SeqNum{kLocalIss + 1}
                             : (control & 0x04U) != 0 ? c->snd().una
                                                      : c->snd().nxt;
    // In SYN_SENT the peer's ISS is what its SYN will say, not anything we have received.
    const bool irs_known = c != nullptr && c->state() != tcp::State::SynSent;
    s.seq = (irs_known ? c->rcv().nxt : wire::SeqNum{kPeerIss}) + seq_off;
    s.ack = snd + ack_off;
    if ((control & 0x10U) != 0) {
      s.options = read_options(in_);
      relative_options(s.options, peer, c);
    }
    s.payload = (control & 0x80U) != 0 ? in_.take(len) : wire::Bytes{payload_pattern()}.first(len);
    return s;
  }

  // Timestamps and SACK blocks as offsets, the way seq and ack are.
  void relative_options(wire::TcpOptions& o, std::size_t peer, const tcp::Connection* c) const {
    if (o.timestamps) {
      // The peer's clock ticks in milliseconds from 1; ours is what we last sent it.
      const auto ms = static_cast<std::uint32_t>((now_ - Instant{}) / 1ms) + 1;
      o.timestamps->value += ms;
      o.timestamps->echo += checks_.last_tsval(peer);
    }
    const wire::SeqNum una = c == nullptr ? wire::SeqNum{kLocalIss} : c->snd().una;
    for (std::size_t i = 0; i < o.sack_count; ++i) {
      o.sack[i].left = una + o.sack[i].left.raw;
      o.sack[i].right = una + o.sack[i].right.raw;
    }
  }

  tcp::Config cfg_;
  Instant now_{};
  Stats stats_;
  tcp::FixedIsn isn_{kLocalIss};
  ScriptChecks checks_;
  tcp::Engine engine_;
  std::unique_ptr<tcp::HandlerFactory> factory_;
  FuzzInput& in_;
};

}  // namespace

RunSummary run_script_steps(std::uint8_t config, FuzzInput& in, const ScriptOpen& open) {
  ScriptRun run{config, in, open};
  while (!in.empty()) { run.step(); }
  return run.finish();
}

}  // namespace tapsrv::fuzz
