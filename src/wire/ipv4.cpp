#include "tapsrv/wire/ipv4.hpp"

#include "tapsrv/wire/checksum.hpp"

namespace tapsrv::wire {

Expected<Ipv4View, Drop> Ipv4View::parse(Bytes b) noexcept {
  if (b.size() < kIpv4MinHeaderLen) { return Drop::Ipv4Truncated; }
  if ((load_u8(b, 0) >> 4) != 4) { return Drop::Ipv4BadVersion; }
  const std::size_t header_len = (load_u8(b, 0) & 0xfU) * 4;
  if (header_len < kIpv4MinHeaderLen) { return Drop::Ipv4BadHeaderLen; }
  const std::size_t total_len = load_be16(b, 2);
  // RFC 1122 §3.2.1.1 and §3.2.1.2: a total length that lies about the header or about the
  // bytes that actually arrived is a malformed packet, never a reason to read past the frame.
  if (total_len < header_len) { return Drop::Ipv4BadHeaderLen; }
  if (total_len > b.size()) { return Drop::Ipv4BadTotalLen; }
  if (checksum(b.first(header_len)) != 0) { return Drop::Ipv4BadChecksum; }
  return Ipv4View{b.first(total_len)};
}

void write_ipv4_header(MutBytes out, const Ipv4Header& h) noexcept {
  out[0] = std::byte{0x45};  // version 4, IHL 5
  out[1] =
      std::byte{static_cast<std::uint8_t>((h.tos & ~kEcnMask) | static_cast<std::uint8_t>(h.ecn))};
  store_be16(out, 2, static_cast<std::uint16_t>(kIpv4MinHeaderLen + h.payload_len));
  store_be16(out, 4, h.ident);
  store_be16(out, 6, h.dont_fragment ? 0x4000 : 0);
  out[8] = std::byte{h.ttl};
  out[9] = std::byte{h.protocol};
  store_be16(out, 10, 0);
  store_be32(out, 12, h.src.value);
  store_be32(out, 16, h.dst.value);
  store_be16(out, 10, checksum(out.first(kIpv4MinHeaderLen)));
}

}  // namespace tapsrv::wire
