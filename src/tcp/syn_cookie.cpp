#include "tapsrv/tcp/syn_cookie.hpp"

#include <sodium/crypto_shorthash_siphash24.h>

namespace tapsrv::tcp {
namespace {

// The ISS is hash0 + peer ISN + (count << 24) + ((hash1(count) + mss index) mod 2^24): the top
// byte dates the cookie, the low 24 bits authenticate it and carry the MSS index.
constexpr unsigned kCountShift = 24;
constexpr std::uint32_t kHashMask = (1U << kCountShift) - 1;
// A cookie is good in the minute it was made and the next (Linux's MAX_SYNCOOKIE_AGE).
constexpr std::uint32_t kMaxAge = 2;

// TSval's low bits (Linux TSBITS): 4 for the window scale, 0xf meaning none, then SACK.
constexpr unsigned kTsBits = 6;
constexpr std::uint32_t kTsMask = (1U << kTsBits) - 1;
constexpr std::uint32_t kTsNoWscale = 0xf;
constexpr std::uint32_t kTsSack = 1U << 4;

std::uint32_t minutes(Instant now) noexcept {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count());
}

void put_be32(unsigned char* p, std::uint32_t v) noexcept {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

std::uint32_t mss_index(std::uint16_t peer_mss) noexcept {
  std::uint32_t i = kCookieMss.size() - 1;
  while (i > 0 && peer_mss < kCookieMss[i]) { --i; }
  return i;
}

}  // namespace

std::uint16_t cookie_mss(std::uint16_t peer_mss) noexcept {
  return kCookieMss[mss_index(peer_mss)];
}

std::uint32_t cookie_timestamp(std::uint32_t ts_now, const CookieTsOptions& o) noexcept {
  std::uint32_t bits = o.window_scale ? (*o.window_scale & kTsNoWscale) : kTsNoWscale;
  if (o.sack_permitted) { bits |= kTsSack; }
  std::uint32_t ts = (ts_now & ~kTsMask) | bits;
  // Modulo 2^32, as PAWS compares: never ahead of the clock the connection continues with.
  if (static_cast<std::int32_t>(ts - ts_now) > 0) { ts -= kTsMask + 1; }
  return ts;
}

CookieTsOptions decode_cookie_timestamp(std::uint32_t tsecr) noexcept {
  CookieTsOptions o;
  o.sack_permitted = (tsecr & kTsSack) != 0;
  if ((tsecr & kTsNoWscale) != kTsNoWscale) {
    o.window_scale = static_cast<std::uint8_t>(tsecr & kTsNoWscale);
  }
  return o;
}

std::uint32_t SynCookies::hash(const FourTuple& id, std::uint32_t count,
                               std::size_t which) const noexcept {
  std::array<unsigned char, 16> msg{};
  put_be32(&msg[0], id.remote_ip.value);
  put_be32(&msg[4], id.local_ip.value);
  put_be32(&msg[8], (std::uint32_t{id.remote_port} << 16) | id.local_port);
  put_be32(&msg[12], count);
  std::array<unsigned char, crypto_shorthash_siphash24_BYTES> out{};
  crypto_shorthash_siphash24(out.data(), msg.data(), msg.size(),
                             key_.data() + which * crypto_shorthash_siphash24_KEYBYTES);
  return (std::uint32_t{out[0]} << 24) | (std::uint32_t{out[1]} << 16) |
         (std::uint32_t{out[2]} << 8) | out[3];
}

wire::SeqNum SynCookies::make(const FourTuple& id, wire::SeqNum peer_iss, std::uint16_t peer_mss,
                              Instant now) const noexcept {
  const std::uint32_t count = minutes(now);
  return wire::SeqNum{hash(id, 0, 0) + peer_iss.raw + (count << kCountShift) +
                      ((hash(id, count, 1) + mss_index(peer_mss)) & kHashMask)};
}

std::optional<std::uint16_t> SynCookies::check(const FourTuple& id, wire::SeqNum peer_iss,
                                               wire::SeqNum cookie, Instant now) const noexcept {
  const std::uint32_t count = minutes(now);
  const std::uint32_t rest = cookie.raw - hash(id, 0, 0) - peer_iss.raw;
  // The count survives in the top byte only, so compare ages modulo 256, as Linux does.
  const std::uint32_t age = (count - (rest >> kCountShift)) & (0xffffffffU >> kCountShift);
  if (age >= kMaxAge) { return std::nullopt; }
  const std::uint32_t index = (rest - hash(id, count - age, 1)) & kHashMask;
  if (index >= kCookieMss.size()) { return std::nullopt; }
  return kCookieMss[index];
}

}  // namespace tapsrv::tcp
