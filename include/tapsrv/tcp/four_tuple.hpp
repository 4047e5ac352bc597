// The identity of a connection (RFC 9293 §3.2: the socket pair).
#pragma once

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

/// A fast, well-mixed hash for the connection table; not a defence against chosen collisions
/// (the table bounds its size instead).
struct FourTupleHash {
  std::size_t operator()(const FourTuple& t) const noexcept {
    std::uint64_t x = (std::uint64_t{t.remote_ip.value} << 32) | t.local_ip.value;
    x ^= (std::uint64_t{t.remote_port} << 16 | t.local_port) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x);
  }
};

}  // namespace tapsrv::tcp
