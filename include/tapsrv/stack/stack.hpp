// The whole endpoint as a pure function of its inputs: frames and time in, frames out.
#pragma once

#include <optional>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/ip/ipv4_layer.hpp"
#include "tapsrv/link/link_layer.hpp"
#include "tapsrv/link/tx_queue.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/engine.hpp"
#include "tapsrv/wire/ethernet.hpp"

namespace tapsrv {

struct StackConfig {
  wire::MacAddr mac{};
  wire::Ipv4Subnet address{};
  std::optional<wire::Ipv4Addr> gateway{};
  std::uint16_t mtu = 1500;
  // The device finishes TCP checksums and cuts large segments (a TAP with IFF_VNET_HDR and
  // TUNSETOFFLOAD): TCP then sends up to 64 KiB per frame with a partial checksum.
  bool offload = false;
  link::NeighborConfig neighbors{};
  tcp::Config tcp{};  // its mtu is taken from `mtu`
};

/// Owns the layers and the transmit queue; the event loop (or a test) owns the Stack.
/// Single-threaded; no syscalls, no clock reads.
class Stack {
 public:
  /// Every reference must outlive the stack.
  Stack(const StackConfig& cfg, Stats& stats, tcp::IsnSource& isn,
        link::LinkObserver& link_obs = link::LinkObserver::none(),
        tcp::Observer& tcp_obs = tcp::Observer::none());

  /// The link has come up: announce our address.
  void start(Instant now);
  /// Opens a TCP port; `factory` must outlive the stack.
  void listen(Instant now, std::uint16_t port, tcp::HandlerFactory& factory);
  /// One frame from the wire; anything it cannot use is counted in Stats and dropped. With
  /// offload, a frame may be a TCP segment of up to 64 KiB that the sender did not cut.
  void on_frame(Instant now, wire::Bytes frame, RxOffload rx = {}) noexcept;
  /// The earliest instant at which on_timers() has work; nullopt when no timer is armed.
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  void on_timers(Instant now) noexcept;
  /// Resets every TCP connection, for a prompt and clean exit.
  void shutdown(Instant now);

  /// Frames to write, oldest first. The caller writes them, reports each with count_tx(), and
  /// then calls tx().clear().
  [[nodiscard]] link::TxQueue& tx() noexcept { return tx_; }
  /// Precondition: i < tx().size(). Frame `i` was `written` to the device (counted in
  /// tx_frames, tx_bytes and, when left for the device to cut, tx_tso_segments) or refused
  /// (TxDrop::TxError).
  void count_tx(std::size_t i, bool written) noexcept;
  [[nodiscard]] const link::LinkLayer& link() const noexcept { return link_; }
  [[nodiscard]] const tcp::Engine& tcp() const noexcept { return tcp_; }
  /// Where the engine's segments go: each becomes an IPv4 frame on tx() (ECN codepoint and
  /// offload flags included). Exposed so tests can encode segments the engine does not make.
  [[nodiscard]] tcp::Outbox& tcp_out() noexcept { return tcp_out_; }

 private:
  /// Encodes the engine's segments straight into IPv4 frames.
  class TcpOut final : public tcp::Outbox {
   public:
    explicit TcpOut(Stack& s) noexcept : stack_{s} {}
    void send(const tcp::FourTuple& id, const wire::TcpSegment& seg) override;

   private:
    Stack& stack_;
  };

  void dispatch(Instant now, wire::Bytes frame, RxOffload rx);
  void on_ipv4(Instant now, const wire::EthernetView& eth, bool link_broadcast, RxOffload rx);
  void on_tcp(Instant now, const wire::Ipv4View& ip, RxOffload rx);

  Stats& stats_;
  StackConfig cfg_;
  Instant now_{};  // of the call in progress, for frames the engine sends
  link::TxQueue tx_;
  link::LinkLayer link_;
  ip::Ipv4Layer ipv4_;
  tcp::Engine tcp_;
  TcpOut tcp_out_{*this};
};

}  // namespace tapsrv
