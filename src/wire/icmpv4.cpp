#include "tapsrv/wire/icmpv4.hpp"

#include <algorithm>

#include "tapsrv/wire/checksum.hpp"

namespace tapsrv::wire {

Expected<IcmpView, Drop> IcmpView::parse(Bytes b) noexcept {
  if (b.size() < kIcmpHeaderLen) { return Drop::IcmpTruncated; }
  if (checksum(b) != 0) { return Drop::IcmpBadChecksum; }
  return IcmpView{b};
}

bool IcmpView::is_error() const noexcept {
  switch (type()) {
    case icmp_type::kDestUnreachable:
    case icmp_type::kSourceQuench:
    case icmp_type::kRedirect:
    case icmp_type::kTimeExceeded:
    case icmp_type::kParameterProblem: return true;
    default: return false;
  }
}

std::size_t write_icmp(MutBytes out, std::uint8_t type, std::uint8_t code,
                       std::uint32_t rest_of_header, Bytes body) noexcept {
  const std::size_t len = kIcmpHeaderLen + body.size();
  std::copy(body.begin(), body.end(), out.begin() + kIcmpHeaderLen);
  out[0] = std::byte{type};
  out[1] = std::byte{code};
  store_be16(out, 2, 0);
  store_be32(out, 4, rest_of_header);
  store_be16(out, 2, checksum(out.first(len)));
  return len;
}

}  // namespace tapsrv::wire
