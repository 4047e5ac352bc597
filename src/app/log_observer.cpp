#include "app/log_observer.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <string>
#include <utility>

namespace tapsrv::app {
namespace {

std::string endpoint(wire::Ipv4Addr ip, std::uint16_t port) {
  if (ip.is_unspecified() && port == 0) { return "*:*"; }
  return fmt::format("{}:{}", wire::to_text(ip).view(), port);
}

std::string tuple(const tcp::FourTuple& id) {
  return endpoint(id.remote_ip, id.remote_port) + " -> " + endpoint(id.local_ip, id.local_port);
}

// "SYN,ACK", "FIN,ACK", "RST": the flags in the order tcpdump users read them.
std::string flag_names(wire::TcpFlags f) {
  std::string s;
  auto add = [&](bool on, const char* n) {
    if (!on) { return; }
    if (!s.empty()) { s += ','; }
    s += n;
  };
  add(f.syn(), "SYN");
  add(f.fin(), "FIN");
  add(f.rst(), "RST");
  add(f.psh(), "PSH");
  add(f.ack(), "ACK");
  add(f.urg(), "URG");
  add(f.ece(), "ECE");
  add(f.cwr(), "CWR");
  return s.empty() ? "none" : s;
}

std::string cause_text(tcp::Cause c, const wire::TcpSegment* seg) {
  switch (c) {
    case tcp::Cause::Segment: return seg != nullptr ? flag_names(seg->flags) : "segment";
    case tcp::Cause::Listen: return "listen";
    case tcp::Cause::Connect: return "connect";
    case tcp::Cause::AppClose: return "close";
    case tcp::Cause::Timeout: return "timeout";
    case tcp::Cause::Retransmit: return "retransmission limit, reset";
    case tcp::Cause::Shutdown: return "shutdown, reset";
    case tcp::Cause::SynCookie: return "syn cookie";
    case tcp::Cause::Recycled: return "recycled, --max-time-wait";
    case tcp::Cause::Keepalive: return "keepalive, reset";
    case tcp::Cause::UserTimeout: return "user timeout, reset";
    case tcp::Cause::ProbeLimit: return "zero-window probe limit, reset";
    case tcp::Cause::InternalBug: return "internal bug, reset";
  }
  return "?";
}

std::string options_text(const wire::TcpOptions& o) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ",") + part; };
  if (o.mss) { add(fmt::format("mss {}", *o.mss)); }
  if (o.sack_permitted) { add("sackOK"); }
  if (o.timestamps) {
    add(fmt::format("TS val {} ecr {}", o.timestamps->value, o.timestamps->echo));
  }
  if (o.window_scale) { add(fmt::format("wscale {}", *o.window_scale)); }
  for (std::size_t i = 0; i < o.sack_count; ++i) {
    add(fmt::format("sack {}:{}", o.sack[i].left.raw, o.sack[i].right.raw));
  }
  return s.empty() ? "" : " <" + s + ">";
}

// Per kind: {lines per second, burst}. A person watching a handful of connections sees every
// line; a flood of SYNs, ARP claims or unanswered neighbours costs at most this many lines (as
// Linux's net_ratelimit(): 10 per 5 s there, for messages rarer than state changes).
constexpr std::array<std::pair<std::uint32_t, std::uint32_t>, 4> kRates{{
    {500, 2000},  // Transition
    {10, 100},    // Learned
    {5, 20},      // Unreachable
    {1, 5},       // Conflict
}};

constexpr std::string_view kind_name(LogObserver::Kind k) {
  switch (k) {
    case LogObserver::Kind::Transition: return "state change";
    case LogObserver::Kind::Learned: return "arp learned";
    case LogObserver::Kind::Unreachable: return "arp unreachable";
    case LogObserver::Kind::Conflict: return "arp conflict";
    case LogObserver::Kind::kCount: break;
  }
  return "?";
}

}  // namespace

LogObserver::LogObserver(bool segments, Stats& stats, Clock clock)
    : segments_{segments},
      stats_{stats},
      clock_{clock},
      limits_{TokenBucket{kRates[0].first, kRates[0].second},
              TokenBucket{kRates[1].first, kRates[1].second},
              TokenBucket{kRates[2].first, kRates[2].second},
              TokenBucket{kRates[3].first, kRates[3].second}} {}

bool LogObserver::admit(Kind kind, int level) {
  if (!spdlog::should_log(static_cast<spdlog::level::level_enum>(level))) { return false; }
  const auto k = static_cast<std::size_t>(kind);
  if (!limits_[k].try_take(clock_())) {
    ++held_back_[k];
    stats_.add(Counter::LogLinesSuppressed);
    return false;
  }
  if (held_back_[k] != 0) {
    // As Linux's ___ratelimit: "N callbacks suppressed", once the kind may log again.
    spdlog::log(static_cast<spdlog::level::level_enum>(level), "log: {} {} line(s) suppressed",
                held_back_[k], kind_name(kind));
    held_back_[k] = 0;
  }
  return true;
}

void LogObserver::on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) {
  if (!admit(Kind::Learned, spdlog::level::info)) { return; }
  spdlog::info("arp: {} is at {}{}", wire::to_text(ip).view(), wire::to_text(mac).view(),
               changed ? " (changed)" : "");
}

void LogObserver::on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped_frames) {
  if (!admit(Kind::Unreachable, spdlog::level::warn)) { return; }
  spdlog::warn("arp: no answer from {}; dropped {} waiting packet(s)", wire::to_text(ip).view(),
               dropped_frames);
}

void LogObserver::on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr mac) {
  if (!admit(Kind::Conflict, spdlog::level::err)) { return; }
  spdlog::error("arp: {} also claims our address {}", wire::to_text(mac).view(),
                wire::to_text(ip).view());
}

void LogObserver::on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to,
                                tcp::Cause cause, const wire::TcpSegment* seg) {
  // The text is built only for a line that will be written.
  if (!admit(Kind::Transition, spdlog::level::info)) { return; }
  spdlog::info("{}  {} -> {}  ({})", tuple(id), tcp::name(from), tcp::name(to),
               cause_text(cause, seg));
}

void LogObserver::on_segment(const tcp::FourTuple& id, bool outgoing, const wire::TcpSegment& seg) {
  if (!spdlog::should_log(spdlog::level::debug)) { return; }
  spdlog::debug("{}  {} [{}] seq {} ack {} win {} len {}{}", tuple(id), outgoing ? "out" : "in ",
                flag_names(seg.flags), seg.seq.raw, seg.ack.raw, seg.window, seg.payload.size(),
                options_text(seg.options));
}

}  // namespace tapsrv::app
