#include "tapsrv/tcp/isn.hpp"

#include <sodium/crypto_shorthash_siphash24.h>

namespace tapsrv::tcp {
namespace {

void put_be(unsigned char* p, std::uint32_t v, int bytes) noexcept {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

}  // namespace

wire::SeqNum Rfc6528Isn::isn(const FourTuple& id, Instant now) noexcept {
  std::array<unsigned char, 12> msg{};
  put_be(&msg[0], id.local_ip.value, 4);
  put_be(&msg[4], id.remote_ip.value, 4);
  put_be(&msg[8], id.local_port, 2);
  put_be(&msg[10], id.remote_port, 2);
  std::array<unsigned char, crypto_shorthash_siphash24_BYTES> hash{};
  crypto_shorthash_siphash24(hash.data(), msg.data(), msg.size(), key_.data());
  const std::uint32_t f = (std::uint32_t{hash[0]} << 24) | (std::uint32_t{hash[1]} << 16) |
                          (std::uint32_t{hash[2]} << 8) | hash[3];
  const auto ticks = static_cast<std::uint32_t>(now.time_since_epoch().count() / 4);
  return wire::SeqNum{ticks + f};
}

}  // namespace tapsrv::tcp
