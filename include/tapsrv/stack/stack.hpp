// The whole endpoint as a pure function of its inputs: frames and time in, frames out.
#pragma once

#include <optional>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/ip/ipv4_layer.hpp"
#include "tapsrv/link/link_layer.hpp"
#include "tapsrv/link/tx_queue.hpp"

namespace tapsrv {

struct StackConfig {
  wire::MacAddr mac{};
  wire::Ipv4Subnet address{};
  std::optional<wire::Ipv4Addr> gateway{};
  std::uint16_t mtu = 1500;
  link::NeighborConfig neighbors{};
};

/// Owns the layers and the transmit queue; the event loop (or a test) owns the Stack.
/// Single-threaded; no syscalls, no clock reads.
class Stack {
 public:
  /// `stats` and `obs` must outlive the stack.
  Stack(const StackConfig& cfg, Stats& stats, link::LinkObserver& obs = link::LinkObserver::none());

  /// The link has come up: announce our address.
  void start(Instant now);
  /// One frame from the wire; anything it cannot use is counted in Stats and dropped.
  void on_frame(Instant now, wire::Bytes frame) noexcept;
  /// The earliest instant at which on_timers() has work; nullopt when no timer is armed.
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  void on_timers(Instant now) noexcept;

  /// Frames to write, oldest first. The caller writes them and then calls tx().clear().
  [[nodiscard]] link::TxQueue& tx() noexcept { return tx_; }
  [[nodiscard]] const link::LinkLayer& link() const noexcept { return link_; }

 private:
  void on_ipv4(Instant now, wire::Bytes packet, bool link_broadcast);

  Stats& stats_;
  link::TxQueue tx_;
  link::LinkLayer link_;
  ip::Ipv4Layer ipv4_;
};

}  // namespace tapsrv
