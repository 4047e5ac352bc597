// TCP segments (RFC 9293 §3.1) with the options of RFC 9293 (MSS), RFC 7323 (window scale,
// timestamps) and RFC 2018 (SACK): a checked view for input, a plain value for both directions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/bytes.hpp"
#include "tapsrv/wire/ipv4.hpp"
#include "tapsrv/wire/seq.hpp"

namespace tapsrv::wire {

inline constexpr std::size_t kTcpMinHeaderLen = 20;
inline constexpr std::size_t kTcpMaxHeaderLen = 60;

/// The control bits as the wire lays them out in byte 13.
struct TcpFlags {
  std::uint8_t bits = 0;
  static constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                                kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
  [[nodiscard]] constexpr bool fin() const noexcept { return (bits & kFin) != 0; }
  [[nodiscard]] constexpr bool syn() const noexcept { return (bits & kSyn) != 0; }
  [[nodiscard]] constexpr bool rst() const noexcept { return (bits & kRst) != 0; }
  [[nodiscard]] constexpr bool psh() const noexcept { return (bits & kPsh) != 0; }
  [[nodiscard]] constexpr bool ack() const noexcept { return (bits & kAck) != 0; }
  [[nodiscard]] constexpr bool urg() const noexcept { return (bits & kUrg) != 0; }
  [[nodiscard]] constexpr bool ece() const noexcept { return (bits & kEce) != 0; }
  [[nodiscard]] constexpr bool cwr() const noexcept { return (bits & kCwr) != 0; }
  friend constexpr bool operator==(TcpFlags, TcpFlags) noexcept = default;
};

struct SackBlock {
  SeqNum left{};
  SeqNum right{};  // one past the last byte
  friend constexpr bool operator==(SackBlock, SackBlock) noexcept = default;
};

struct Timestamps {
  std::uint32_t value = 0;  // TSval
  std::uint32_t echo = 0;   // TSecr
  friend constexpr bool operator==(Timestamps, Timestamps) noexcept = default;
};

struct TcpOptions {
  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;  // as sent; RFC 7323 §2.3 caps its use at 14
  bool sack_permitted = false;
  std::optional<Timestamps> timestamps;
  std::array<SackBlock, 4> sack{};
  std::uint8_t sack_count = 0;
  friend bool operator==(const TcpOptions&, const TcpOptions&) noexcept = default;
};

/// A decoded segment in host order. `payload` borrows the buffer the segment came from (input)
/// or the data to be sent (output).
struct TcpSegment {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  SeqNum seq{};
  SeqNum ack{};
  TcpFlags flags{};
  std::uint16_t window = 0;  // as on the wire, unscaled
  std::uint16_t urgent = 0;
  TcpOptions options{};
  Bytes payload{};
  /// Output only: when non-zero and the payload is longer, the device cuts the payload into
  /// pieces of this many bytes (TSO), so one segment here may be many on the wire.
  std::uint16_t tso_segment_size = 0;
  /// The ECN field of the IP header around the segment (RFC 3168 §5): on input, what arrived
  /// (the stack fills it in, decode() cannot see it); on output, what the stack sends.
  Ecn ecn = Ecn::NotEct;

  /// SEG.LEN of RFC 9293 §3.3: payload plus one for each of SYN and FIN.
  [[nodiscard]] std::uint32_t seq_len() const noexcept {
    return static_cast<std::uint32_t>(payload.size()) + (flags.syn() ? 1U : 0U) +
           (flags.fin() ? 1U : 0U);
  }
};

/// Checked view of a TCP header and payload: only parse() makes one, so the data offset is
/// within the buffer. The checksum is not checked here: see verify_tcp_checksum().
class TcpView {
 public:
  [[nodiscard]] static Expected<TcpView, Drop> parse(Bytes b) noexcept;

  [[nodiscard]] std::uint16_t src_port() const noexcept { return load_be16(bytes_, 0); }
  [[nodiscard]] std::uint16_t dst_port() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::size_t header_len() const noexcept {
    return static_cast<std::size_t>(load_u8(bytes_, 12) >> 4) * 4;
  }
  [[nodiscard]] Bytes options() const noexcept {
    return bytes_.subspan(kTcpMinHeaderLen, header_len() - kTcpMinHeaderLen);
  }
  [[nodiscard]] Bytes payload() const noexcept { return bytes_.subspan(header_len()); }
  [[nodiscard]] Bytes bytes() const noexcept { return bytes_; }

 private:
  explicit TcpView(Bytes b) noexcept : bytes_{b} {}
  Bytes bytes_;
};

/// True when the segment's checksum over the IPv4 pseudo-header is correct.
[[nodiscard]] bool verify_tcp_checksum(Bytes segment, Ipv4Addr src, Ipv4Addr dst) noexcept;

/// Decodes the fixed fields and options. Malformed options (a length that runs past the header
/// or does not fit its kind) give Drop::TcpBadOption; unknown kinds are skipped.
[[nodiscard]] Expected<TcpSegment, Drop> decode(const TcpView& v) noexcept;
/// Decodes an options area; exposed for the option fuzzer and its tests.
[[nodiscard]] Expected<TcpOptions, Drop> decode_options(Bytes options) noexcept;

/// Bytes the header of `s` takes with its options, padded to a multiple of four.
[[nodiscard]] std::size_t header_len(const TcpSegment& s) noexcept;
/// What encode() puts in the checksum field: the full checksum, or only the folded
/// pseudo-header sum for a device that finishes the job (checksum offload, CHECKSUM_PARTIAL).
enum class TcpChecksum : std::uint8_t { Full, PseudoHeaderOnly };
/// The checksum field's offset in the TCP header.
inline constexpr std::size_t kTcpChecksumOffset = 16;

/// Writes header, options and payload with the checksum; returns the length written.
/// Precondition: out.size() >= header_len(s) + s.payload.size(), and s.payload does not overlap
/// out.
std::size_t encode(const TcpSegment& s, Ipv4Addr src, Ipv4Addr dst, MutBytes out,
                   TcpChecksum checksum = TcpChecksum::Full) noexcept;

}  // namespace tapsrv::wire
