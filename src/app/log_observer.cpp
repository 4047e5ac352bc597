#include "app/log_observer.hpp"

#include <spdlog/spdlog.h>

#include <string>

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

}  // namespace

void LogObserver::on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) {
  spdlog::info("arp: {} is at {}{}", wire::to_text(ip).view(), wire::to_text(mac).view(),
               changed ? " (changed)" : "");
}

void LogObserver::on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped_frames) {
  spdlog::warn("arp: no answer from {}; dropped {} waiting packet(s)", wire::to_text(ip).view(),
               dropped_frames);
}

void LogObserver::on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr mac) {
  spdlog::error("arp: {} also claims our address {}", wire::to_text(mac).view(),
                wire::to_text(ip).view());
}

void LogObserver::on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to,
                                tcp::Cause cause, const wire::TcpSegment* seg) {
  spdlog::info("{}  {} -> {}  ({})", tuple(id), tcp::name(from), tcp::name(to),
               cause_text(cause, seg));
}

void LogObserver::on_segment(const tcp::FourTuple& id, bool outgoing, const wire::TcpSegment& seg) {
  spdlog::debug("{}  {} [{}] seq {} ack {} win {} len {}{}", tuple(id), outgoing ? "out" : "in ",
                flag_names(seg.flags), seg.seq.raw, seg.ack.raw, seg.window, seg.payload.size(),
                options_text(seg.options));
}

}  // namespace tapsrv::app
