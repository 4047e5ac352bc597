// Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528): ISN = M + F(4-tuple, secret).
#pragma once

#include <array>
#include <cstdint>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/wire/seq.hpp"

namespace tapsrv::tcp {

class IsnSource {
 public:
  virtual ~IsnSource() = default;
  [[nodiscard]] virtual wire::SeqNum isn(const FourTuple& id, Instant now) noexcept = 0;
};

/// RFC 6528 §3: M is a 4 µs clock and F is SipHash-2-4 (libsodium) keyed with a secret the
/// caller draws from the OS at start-up, as Linux does (secure_tcp_seq).
class Rfc6528Isn final : public IsnSource {
 public:
  using Key = std::array<std::uint8_t, 16>;
  explicit Rfc6528Isn(const Key& key) noexcept : key_{key} {}
  [[nodiscard]] wire::SeqNum isn(const FourTuple& id, Instant now) noexcept override;

 private:
  Key key_;
};

/// For tests: always the same ISN.
class FixedIsn final : public IsnSource {
 public:
  explicit FixedIsn(std::uint32_t value) noexcept : value_{value} {}
  [[nodiscard]] wire::SeqNum isn(const FourTuple&, Instant) noexcept override { return {value_}; }

 private:
  std::uint32_t value_;
};

}  // namespace tapsrv::tcp
