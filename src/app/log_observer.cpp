#include "app/log_observer.hpp"

#include <spdlog/spdlog.h>

namespace tapsrv::app {

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

}  // namespace tapsrv::app
