// The invariants fuzz_tcp_script checks: on every segment the engine sends, on every state
// change, and on every connection after each step.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/engine.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/outbox.hpp"

namespace tapsrv::fuzz {

inline constexpr std::size_t kScriptPorts = 4;
inline constexpr std::uint16_t kScriptPort = 3333;       // the listener
inline constexpr std::uint16_t kScriptPeerPort = 40000;  // peers use this and the next three
inline constexpr wire::Ipv4Addr kScriptLocalIp = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
inline constexpr wire::Ipv4Addr kScriptPeerIp = wire::Ipv4Addr::from_octets(10, 0, 0, 1);

/// The 4-tuple of peer `i` (< kScriptPorts) with the listener.
constexpr tcp::FourTuple script_tuple(std::size_t i) noexcept {
  return tcp::FourTuple{kScriptPeerIp, static_cast<std::uint16_t>(kScriptPeerPort + i),
                        kScriptLocalIp, kScriptPort};
}

/// Receives the engine's output and events and aborts (fuzz::require) on anything impossible.
/// `cfg` and `now` must outlive it.
class ScriptChecks final : public tcp::Outbox, public tcp::Observer {
 public:
  ScriptChecks(const tcp::Config& cfg, const Instant& now) noexcept : cfg_{cfg}, now_{now} {}

  void send(const tcp::FourTuple& id, const wire::TcpSegment& seg) override;
  void on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to, tcp::Cause cause,
                     const wire::TcpSegment* seg) override;

  /// The TCB invariants of every peer's connection and the table's bounds; after on_timers()
  /// also that no timer is left due.
  void after_step(const tcp::Engine& engine, const Stats& stats, bool after_timers) const;
  /// The TSval we last sent peer `i`, which its next TSecr echoes.
  [[nodiscard]] std::uint32_t last_tsval(std::size_t i) const noexcept { return tsval_[i]; }

 private:
  const tcp::Config& cfg_;
  const Instant& now_;
  std::array<std::uint32_t, kScriptPorts> tsval_{};
};

}  // namespace tapsrv::fuzz
