// IPv4 input checks and output routing (RFC 791, RFC 1122 §3.2.1), ICMP echo and the ICMP
// errors a host owes its peers (RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3.2.3 for their size).
#pragma once

#include <cstdint>
#include <optional>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/core/token_bucket.hpp"
#include "tapsrv/link/link_layer.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::ip {

struct Ipv4Config {
  wire::Ipv4Subnet address{};               // our address and the on-link prefix
  std::optional<wire::Ipv4Addr> gateway{};  // next hop for everything off the prefix
  std::uint16_t mtu = 1500;
  std::uint8_t ttl = 64;
  std::uint32_t icmp_errors_per_second = 1000;  // Linux's icmp_msgs_per_sec and _burst
  std::uint32_t icmp_error_burst = 50;
};

class Ipv4Layer {
 public:
  /// `link` and `stats` must outlive the layer.
  Ipv4Layer(const Ipv4Config& cfg, link::LinkLayer& link, Stats& stats);

  /// Validates a packet from the wire and returns it when it is ours to deliver; otherwise it
  /// has been counted as a drop. The view borrows `packet`.
  [[nodiscard]] std::optional<wire::Ipv4View> accept(wire::Bytes packet) noexcept;

  /// Answers an echo request; counts anything else. Precondition: `ip` came from accept().
  void on_icmp(Instant now, const wire::Ipv4View& ip);
  /// Destination unreachable with `code` about `ip`, unless RFC 1122 §3.2.2 forbids an error
  /// here or the rate limit is reached. `link_broadcast`: the frame's MAC destination was a
  /// group address. Precondition: `ip` came from accept().
  void send_unreachable(Instant now, const wire::Ipv4View& ip, std::uint8_t code,
                        bool link_broadcast);

  /// Sends a packet whose `payload_len` bytes `fill(MutBytes)` writes. Returns false (and
  /// counts the drop) when there is no route or the packet exceeds the MTU.
  /// Where a packet to `dst` goes first: `dst` itself on our subnet, else the gateway.
  [[nodiscard]] std::optional<wire::Ipv4Addr> next_hop(wire::Ipv4Addr dst) const noexcept;

  /// `offload` offsets count from the start of the payload; a packet the device segments
  /// (gso_size set) may exceed the MTU up to IPv4's 64 KiB limit. `tos` gives the DSCP bits
  /// only: the ECN field is `ecn`, Not-ECT unless the transport takes part in ECN (RFC 3168 §5).
  template <class Fill>
  bool send(Instant now, wire::Ipv4Addr dst, std::uint8_t protocol, std::uint8_t tos,
            std::size_t payload_len, Fill&& fill, TxOffload offload = {},
            wire::Ecn ecn = wire::Ecn::NotEct);

 private:
  [[nodiscard]] bool is_bad_source(wire::Ipv4Addr src) const noexcept;

  Ipv4Config cfg_;
  link::LinkLayer& link_;
  Stats& stats_;
  TokenBucket icmp_errors_;
  std::uint16_t next_ident_ = 0;
};

template <class Fill>
bool Ipv4Layer::send(Instant now, wire::Ipv4Addr dst, std::uint8_t protocol, std::uint8_t tos,
                     std::size_t payload_len, Fill&& fill, TxOffload offload, wire::Ecn ecn) {
  const auto hop = next_hop(dst);
  if (!hop) {
    stats_.count(TxDrop::Ipv4NoRoute);
    return false;
  }
  // We never fragment, so a packet must fit the link (RFC 1122 §3.3.3 makes that our choice),
  // or be one the device will cut to fit.
  const std::size_t limit = offload.gso_size != 0 ? wire::kIpv4MaxPacketLen : cfg_.mtu;
  if (wire::kIpv4MinHeaderLen + payload_len > limit) {
    stats_.count(TxDrop::Ipv4TooBig);
    return false;
  }
  if (offload.partial_checksum) { offload.csum_start += wire::kIpv4MinHeaderLen; }
  auto packet = link_.begin_ipv4(wire::kIpv4MinHeaderLen + payload_len, offload);
  wire::write_ipv4_header(packet, wire::Ipv4Header{
                                      .src = cfg_.address.addr,
                                      .dst = dst,
                                      .protocol = protocol,
                                      .ttl = cfg_.ttl,
                                      .tos = tos,
                                      .ecn = ecn,
                                      .ident = next_ident_++,
                                      .dont_fragment = false,
                                      .payload_len = static_cast<std::uint16_t>(payload_len),
                                  });
  fill(packet.subspan(wire::kIpv4MinHeaderLen));
  link_.finish_ipv4(now, *hop);
  return true;
}

}  // namespace tapsrv::ip
