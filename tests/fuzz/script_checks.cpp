#include "fuzz/script_checks.hpp"

#include "fuzz/fuzz_input.hpp"

namespace tapsrv::fuzz {

namespace {

constexpr std::size_t kIpv4HeaderLen = 20;

void check_connection(const tcp::Connection& c, const tcp::Config& cfg) {
  using tcp::State;
  const auto state = static_cast<unsigned>(c.state());
  require(state <= static_cast<unsigned>(State::TimeWait), "state out of range", state);
  // The engine erases a connection the moment it closes or falls back to LISTEN.
  require(c.state() != State::Closed && c.state() != State::Listen, "CLOSED or LISTEN in table",
          state);
  require(c.snd().una <= c.snd().nxt, "SND.UNA > SND.NXT", c.snd().una.raw, c.snd().nxt.raw);
  const std::size_t send_bound = cfg.send_buffer_autotune ? cfg.send_buffer_max : cfg.send_buffer;
  require(c.send_buffered() <= send_bound, "send buffer over its bound",
          static_cast<long long>(c.send_buffered()));
  // The scoreboard covers at most what is in flight, and its totals stay within it.
  const auto& sb = c.scoreboard();
  const auto flight = static_cast<std::uint32_t>(c.snd().nxt - c.snd().una);
  require(sb.outstanding() <= flight, "scoreboard beyond the flight", sb.outstanding(), flight);
  require(std::uint64_t{sb.sacked()} + sb.lost() <= sb.outstanding(), "SACKed + lost > outstanding",
          sb.sacked(), sb.lost());
  require(sb.retrans() <= sb.outstanding(), "retransmitted > outstanding", sb.retrans());
  require(c.recv_buffered() <= cfg.recv_buffer, "receive buffer over its bound",
          static_cast<long long>(c.recv_buffered()));
  // The window we advertised never promises more room than the buffer has left.
  const std::int32_t promised = c.rcv().adv_right - c.rcv().nxt;
  require(promised >= 0, "advertised right edge behind RCV.NXT", promised);
  require(c.recv_buffered() + static_cast<std::size_t>(promised) <= cfg.recv_buffer,
          "window promises more than the buffer holds", promised,
          static_cast<long long>(c.recv_buffered()));
  require(c.mss() <= cfg.our_mss(), "send MSS above ours", c.mss());
}

}  // namespace

void ScriptChecks::send(const tcp::FourTuple& id, const wire::TcpSegment& seg) {
  // The stack drops (ipv4_too_big) what does not fit the MTU: the peer would never see it.
  const std::size_t size = kIpv4HeaderLen + wire::header_len(seg) + seg.payload.size();
  require(size <= cfg_.mtu, "segment larger than the MTU", static_cast<long long>(size));
  require(seg.payload.size() <= cfg_.our_mss(), "payload larger than our MSS",
          static_cast<long long>(seg.payload.size()));
  require(!seg.flags.rst() || seg.payload.empty(), "RST with data");
  require(!seg.flags.syn() || seg.payload.empty(), "SYN with data");
  require(id.local_ip == kScriptLocalIp && id.remote_ip == kScriptPeerIp, "addresses");
  require(seg.src_port == id.local_port && seg.dst_port == id.remote_port, "ports");
  const std::size_t peer = id.remote_port - kScriptPeerPort;
  if (peer < kScriptPorts && seg.options.timestamps) {
    tsval_[peer] = seg.options.timestamps->value;
  }
}

void ScriptChecks::on_transition(const tcp::FourTuple& /*id*/, tcp::State from, tcp::State to,
                                 tcp::Cause cause, const wire::TcpSegment* seg) {
  require(tcp::is_legal_transition(from, to), "illegal transition", static_cast<int>(from),
          static_cast<int>(to));
  // The log observer prints the segment of a Segment cause, and only then.
  require((cause == tcp::Cause::Segment) == (seg != nullptr), "cause and segment disagree",
          static_cast<int>(cause));
}

void ScriptChecks::after_step(const tcp::Engine& engine, const Stats& stats,
                              bool after_timers) const {
  require(engine.connection_count() <= cfg_.max_connections, "more connections than allowed",
          static_cast<long long>(engine.connection_count()));
  for (std::size_t i = 0; i < kScriptPorts; ++i) {
    if (const auto* c = engine.find(script_tuple(i))) { check_connection(*c, cfg_); }
  }
  require(stats.get(Counter::InternalBug) == 0, "internal bug counted");
  // After on_timers() a deadline at or before now would make the event loop spin without
  // waiting; after a segment, one in the past would be a timer that fires late.
  const auto next = engine.next_deadline();
  const long long ahead = next ? (*next - now_).count() : 1;
  require(after_timers ? ahead > 0 : ahead >= 0, "next_deadline() not ahead of now", ahead,
          after_timers);
}

}  // namespace tapsrv::fuzz
