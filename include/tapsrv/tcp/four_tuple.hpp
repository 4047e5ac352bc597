// The identity of a connection (RFC 9293 §3.2: the socket pair) and its keyed hash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::tcp {

struct FourTuple {
  wire::Ipv4Addr remote_ip{};
  std::uint16_t remote_port = 0;
  wire::Ipv4Addr local_ip{};
  std::uint16_t local_port = 0;
  friend constexpr bool operator==(const FourTuple&, const FourTuple&) noexcept = default;
};

/// The hash of the connection and TIME_WAIT tables: SipHash-2-4 (libsodium) of the 4-tuple
/// under a secret key, so that a peer choosing addresses and ports cannot build long chains
/// (Linux keys inet_ehashfn the same way, with net_secret). The key must be random in
/// production (the app draws it from the OS); the all-zero default is for tests.
class FourTupleHash {
 public:
  using Key = std::array<std::uint8_t, 16>;  // crypto_shorthash_siphash24_KEYBYTES
  FourTupleHash() noexcept = default;
  explicit FourTupleHash(const Key& key) noexcept : key_{key} {}
  [[nodiscard]] std::size_t operator()(const FourTuple& t) const noexcept;

 private:
  Key key_{};
};

}  // namespace tapsrv::tcp
