// ICMP: echo (RFC 792) and destination-unreachable errors (RFC 1122 §3.2.2).
#include <algorithm>

#include "tapsrv/ip/ipv4_layer.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv::ip {
namespace {
// RFC 1812 §4.3.2.3: an error quotes as much of the datagram as fits in 576 bytes.
constexpr std::size_t kMaxErrorLen = 576;
}  // namespace

void Ipv4Layer::on_icmp(Instant now, const wire::Ipv4View& ip) {
  const auto icmp = wire::IcmpView::parse(ip.payload());
  if (!icmp) { return stats_.count(icmp.error()); }
  if (icmp->type() != wire::icmp_type::kEchoRequest) {
    return stats_.count(Drop::IcmpUnhandledType);
  }
  // RFC 1122 §3.2.2.6: same identifier, sequence and data; we echo the DSCP as Linux does.
  // Deviation: Linux (icmp_reply) echoes the ECN bits too; ICMP does not answer congestion, so
  // we send Not-ECT (RFC 3168 §5: ECT only from an ECN-capable transport).
  const auto body = icmp->body();
  const bool sent =
      send(now, ip.src(), wire::ip_proto::kIcmp, ip.tos(), wire::kIcmpHeaderLen + body.size(),
           [&](wire::MutBytes out) {
             wire::write_icmp(out, wire::icmp_type::kEchoReply, 0, icmp->rest_of_header(), body);
           });
  if (sent) { stats_.add(Counter::IcmpEchoReplies); }
}

void Ipv4Layer::send_unreachable(Instant now, const wire::Ipv4View& ip, std::uint8_t code,
                                 bool link_broadcast) {
  // RFC 1122 §3.2.2: no error about a link-layer broadcast (the IP-level cases, bad sources,
  // non-initial fragments and group destinations, never pass accept()), nor about an ICMP error.
  if (link_broadcast) { return; }
  if (ip.protocol() == wire::ip_proto::kIcmp) {
    const auto icmp = wire::IcmpView::parse(ip.payload());
    if (!icmp || icmp->is_error()) { return; }
  }
  if (!icmp_errors_.try_take(now)) { return stats_.add(Counter::IcmpErrorsRateLimited); }
  const auto quoted = ip.packet().first(
      std::min(ip.packet().size(), kMaxErrorLen - wire::kIpv4MinHeaderLen - wire::kIcmpHeaderLen));
  const bool sent =
      send(now, ip.src(), wire::ip_proto::kIcmp, 0, wire::kIcmpHeaderLen + quoted.size(),
           [&](wire::MutBytes out) {
             wire::write_icmp(out, wire::icmp_type::kDestUnreachable, code, 0, quoted);
           });
  if (sent) { stats_.add(Counter::IcmpErrorsSent); }
}

}  // namespace tapsrv::ip
