#include "tapsrv/link/neighbor_table.hpp"

#include <algorithm>

namespace tapsrv::link {

std::optional<wire::MacAddr> NeighborTable::lookup(wire::Ipv4Addr ip, Instant now) {
  const auto it = entries_.find(ip.value);
  if (it == entries_.end()) { return std::nullopt; }
  if (it->second.expires <= now) {
    by_age_.erase(it->second.age);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.mac;
}

NeighborTable::Learned NeighborTable::learn(wire::Ipv4Addr ip, wire::MacAddr mac, Instant now) {
  const Instant expires = now + cfg_.reachable_time;
  if (const auto it = entries_.find(ip.value); it != entries_.end()) {
    // An entry that expired without being looked up since is a new binding, not a refresh.
    const bool expired = it->second.expires <= now;
    const bool changed = it->second.mac != mac;
    it->second.mac = mac;
    refresh(it->second, expires);
    if (expired) { return Learned::New; }
    return changed ? Learned::Changed : Learned::Refreshed;
  }
  if (entries_.size() >= cfg_.max_entries) { evict_one(); }
  if (cfg_.max_entries == 0) { return Learned::New; }
  by_age_.push_back(ip.value);
  entries_.emplace(ip.value, Entry{mac, expires, std::prev(by_age_.end())});
  return Learned::New;
}

bool NeighborTable::confirm(wire::Ipv4Addr ip, wire::MacAddr mac, Instant now) {
  const auto it = entries_.find(ip.value);
  if (it == entries_.end() || it->second.expires <= now || it->second.mac != mac) { return false; }
  refresh(it->second, now + cfg_.reachable_time);
  return true;
}

void NeighborTable::refresh(Entry& e, Instant expires) {
  e.expires = expires;
  by_age_.splice(by_age_.end(), by_age_, e.age);  // iterators stay valid
}

void NeighborTable::evict_one() {
  if (by_age_.empty()) { return; }
  entries_.erase(by_age_.front());
  by_age_.pop_front();
}

NeighborTable::Parked NeighborTable::park(wire::Ipv4Addr ip, wire::Bytes frame, Instant now,
                                          TxOffload offload) {
  const auto it =
      std::find_if(pending_.begin(), pending_.end(), [ip](const Pending& p) { return p.ip == ip; });
  if (it != pending_.end()) {
    if (it->frames.size() >= cfg_.max_frames_per_dest) { return Parked::QueueFull; }
    it->frames.push_back({{frame.begin(), frame.end()}, offload});
    return Parked::Queued;
  }
  if (pending_.size() >= cfg_.max_pending_dests || cfg_.max_frames_per_dest == 0) {
    return Parked::QueueFull;
  }
  Pending p{.ip = ip, .requests_sent = 1, .next_retry = now + cfg_.retry_interval, .frames = {}};
  p.frames.push_back({{frame.begin(), frame.end()}, offload});
  pending_.push_back(std::move(p));
  return Parked::StartResolution;
}

std::vector<NeighborTable::ParkedFrame> NeighborTable::take_parked(wire::Ipv4Addr ip) {
  const auto it =
      std::find_if(pending_.begin(), pending_.end(), [ip](const Pending& p) { return p.ip == ip; });
  if (it == pending_.end()) { return {}; }
  auto frames = std::move(it->frames);
  pending_.erase(it);
  return frames;
}

std::optional<Instant> NeighborTable::next_deadline() const noexcept {
  std::optional<Instant> earliest;
  for (const auto& p : pending_) {
    if (!earliest || p.next_retry < *earliest) { earliest = p.next_retry; }
  }
  return earliest;
}

}  // namespace tapsrv::link
