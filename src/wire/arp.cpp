#include "tapsrv/wire/arp.hpp"

namespace tapsrv::wire {
namespace {
constexpr std::uint16_t kHwEthernet = 1;
constexpr std::uint8_t kMacLen = 6;
constexpr std::uint8_t kIpv4Len = 4;
constexpr std::uint16_t kProtoIpv4 = 0x0800;
}  // namespace

Expected<ArpPacket, Drop> parse_arp(Bytes b) noexcept {
  if (b.size() < kArpLen) { return Drop::ArpMalformed; }
  if (load_be16(b, 0) != kHwEthernet || load_be16(b, 2) != kProtoIpv4 || load_u8(b, 4) != kMacLen ||
      load_u8(b, 5) != kIpv4Len) {
    return Drop::ArpMalformed;
  }
  ArpPacket p;
  p.op = load_be16(b, 6);
  p.sender_mac = MacAddr::from(b.subspan(8));
  p.sender_ip = Ipv4Addr{load_be32(b, 14)};
  p.target_mac = MacAddr::from(b.subspan(18));
  p.target_ip = Ipv4Addr{load_be32(b, 24)};
  return p;
}

void write_arp(MutBytes out, const ArpPacket& p) noexcept {
  store_be16(out, 0, kHwEthernet);
  store_be16(out, 2, kProtoIpv4);
  out[4] = std::byte{kMacLen};
  out[5] = std::byte{kIpv4Len};
  store_be16(out, 6, p.op);
  p.sender_mac.write_to(out.subspan(8));
  store_be32(out, 14, p.sender_ip.value);
  p.target_mac.write_to(out.subspan(18));
  store_be32(out, 24, p.target_ip.value);
}

}  // namespace tapsrv::wire
