#include "tapsrv/tcp/four_tuple.hpp"

#include <sodium/crypto_shorthash_siphash24.h>

static_assert(crypto_shorthash_siphash24_KEYBYTES == 16);

namespace tapsrv::tcp {

std::size_t FourTupleHash::operator()(const FourTuple& t) const noexcept {
  // The 12 bytes of the tuple in a fixed order; SipHash-2-4 is a PRF keyed by key_, so without
  // the key a peer cannot tell which tuples share a bucket (Linux inet_ehashfn, net_secret).
  std::array<unsigned char, 12> msg{};
  const auto put = [&msg](std::size_t at, std::uint32_t v, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i) {
      msg[at + i] = static_cast<unsigned char>(v >> (8 * (bytes - 1 - i)));
    }
  };
  put(0, t.remote_ip.value, 4);
  put(4, t.local_ip.value, 4);
  put(8, t.remote_port, 2);
  put(10, t.local_port, 2);
  std::array<unsigned char, crypto_shorthash_siphash24_BYTES> out{};
  crypto_shorthash_siphash24(out.data(), msg.data(), msg.size(), key_.data());
  std::uint64_t h = 0;
  for (const unsigned char b : out) { h = (h << 8) | b; }
  return static_cast<std::size_t>(h);
}

}  // namespace tapsrv::tcp
