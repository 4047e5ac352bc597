// Ethernet II frames (IEEE 802.3 §3.2.6 type field), without preamble or FCS as the TAP gives them.
#pragma once

#include <cstdint>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

inline constexpr std::size_t kEthHeaderLen = 14;

namespace ethertype {
inline constexpr std::uint16_t kIpv4 = 0x0800;
inline constexpr std::uint16_t kArp = 0x0806;
inline constexpr std::uint16_t kVlan = 0x8100;
inline constexpr std::uint16_t kIpv6 = 0x86dd;
}  // namespace ethertype

/// Read-only view of an Ethernet II frame; only parse() makes one, so accessors are in bounds.
/// The view borrows the frame: it is valid as long as the frame's bytes are.
class EthernetView {
 public:
  [[nodiscard]] static Expected<EthernetView, Drop> parse(Bytes frame) noexcept {
    if (frame.size() < kEthHeaderLen) { return Drop::EthTruncated; }
    return EthernetView{frame};
  }
  [[nodiscard]] MacAddr dst() const noexcept { return MacAddr::from(bytes_); }
  [[nodiscard]] MacAddr src() const noexcept { return MacAddr::from(bytes_.subspan(6)); }
  [[nodiscard]] std::uint16_t ethertype() const noexcept { return load_be16(bytes_, 12); }
  /// May include link-layer padding; the network layer trims it by its own length field.
  [[nodiscard]] Bytes payload() const noexcept { return bytes_.subspan(kEthHeaderLen); }

 private:
  explicit EthernetView(Bytes b) noexcept : bytes_{b} {}
  Bytes bytes_;
};

/// Writes the 14-byte header at the start of `out`. Precondition: out.size() >= kEthHeaderLen.
inline void write_ethernet_header(MutBytes out, MacAddr dst, MacAddr src,
                                  std::uint16_t type) noexcept {
  dst.write_to(out);
  src.write_to(out.subspan(6));
  store_be16(out, 12, type);
}

}  // namespace tapsrv::wire
