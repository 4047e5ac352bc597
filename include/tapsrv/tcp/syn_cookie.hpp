// SYN cookies (RFC 4987 §3.6): an ISS that proves, when the peer acknowledges it, that we sent
// that SYN-ACK, so a full backlog costs a flood no memory. Linux's encoding
// (net/ipv4/syncookies.c), so captures read the way Linux users expect.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/wire/seq.hpp"

namespace tapsrv::tcp {

/// The MSS values a cookie can carry (Linux's msstab): two bits of the ISS.
inline constexpr std::array<std::uint16_t, 4> kCookieMss{536, 1300, 1440, 1460};

/// The largest kCookieMss value not above `peer_mss` (536 when all are above it).
[[nodiscard]] std::uint16_t cookie_mss(std::uint16_t peer_mss) noexcept;

/// What the low bits of a cookie SYN-ACK's TSval remember of the SYN (Linux's
/// cookie_init_timestamp); only a SYN with timestamps gets them, since only then does the
/// peer echo them back in TSecr.
struct CookieTsOptions {
  std::optional<std::uint8_t> window_scale;  // the peer's shift, 0..14
  bool sack_permitted = false;
  friend constexpr bool operator==(const CookieTsOptions&, const CookieTsOptions&) = default;
};

/// Our TSval for a cookie SYN-ACK: `ts_now` with its low 6 bits replaced by `o`, moved back by
/// 64 when that would put it ahead of `ts_now`, so later TSvals never run backwards (PAWS).
/// Precondition: o.window_scale, if set, is at most 14.
[[nodiscard]] std::uint32_t cookie_timestamp(std::uint32_t ts_now,
                                             const CookieTsOptions& o) noexcept;
/// The options cookie_timestamp() stored, read back from the TSecr of the peer's ACK.
[[nodiscard]] CookieTsOptions decode_cookie_timestamp(std::uint32_t tsecr) noexcept;

/// Makes and checks the cookie itself: a keyed hash of the 4-tuple, the peer's ISN, a counter
/// of minutes and the MSS index.
class SynCookies {
 public:
  /// Two SipHash-2-4 keys, as Linux's syncookie_secret[2]; draw them from the OS (not the ISN
  /// key: a cookie and an ISN must not be computable from each other).
  using Key = std::array<std::uint8_t, 32>;
  explicit SynCookies(const Key& key) noexcept : key_{key} {}

  /// The ISS of a SYN-ACK answering the SYN `peer_iss` on `id` at `now`; it encodes
  /// cookie_mss(peer_mss).
  [[nodiscard]] wire::SeqNum make(const FourTuple& id, wire::SeqNum peer_iss,
                                  std::uint16_t peer_mss, Instant now) const noexcept;
  /// The MSS encoded in `cookie` if it was made for `id` and `peer_iss` in this minute or the one
  /// before (Linux's MAX_SYNCOOKIE_AGE); nullopt for anything else.
  [[nodiscard]] std::optional<std::uint16_t> check(const FourTuple& id, wire::SeqNum peer_iss,
                                                   wire::SeqNum cookie, Instant now) const noexcept;

 private:
  [[nodiscard]] std::uint32_t hash(const FourTuple& id, std::uint32_t count,
                                   std::size_t which) const noexcept;
  Key key_;
};

}  // namespace tapsrv::tcp
