// Tunables of the TCP engine, with Linux-like defaults; tests shorten the timers.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/congestion.hpp"

namespace tapsrv::tcp {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Config {
  // The lowest MTU at which every option still fits beside some payload: IPv4 20 + TCP 20 +
  // 40 bytes of options (timestamps and three SACK blocks) + 8 bytes of data, an MSS of 48,
  // Linux's TCP_MIN_SND_MSS and the floor put on the peer's MSS too. The app refuses less.
  static constexpr std::uint16_t kMinMtu = 88;
  std::uint16_t mtu = 1500;              // our MSS is mtu - 40 (RFC 9293 §3.7.1)
  std::size_t recv_buffer = 256 * 1024;  // per connection; bounds the advertised window
  std::size_t send_buffer = 256 * 1024;  // per connection; bounds what a service may queue
  // Send-buffer autotuning (Linux tcp_wmem): a connection that keeps its buffer full while both
  // windows have room grows it toward 3 x cwnd, up to send_buffer_max, while buffer memory is
  // not under pressure. Off when the user fixed the size (as SO_SNDBUF locks it in Linux).
  bool send_buffer_autotune = true;
  std::size_t send_buffer_max = 4 * 1024 * 1024;  // Linux tcp_wmem[2]
  // All connections' buffer storage together (Linux tcp_mem[2]; see BufferBudget). The app
  // derives its default from the machine's memory.
  std::size_t memory_limit = std::size_t{1} << 30;
  Duration msl = seconds{30};                // TIME_WAIT lasts 2 * msl
  Duration rto_initial = seconds{1};         // RFC 6298 (2.1)
  Duration rto_min = milliseconds{200};      // Linux's TCP_RTO_MIN; RFC 6298 says 1 s
  Duration rto_max = seconds{60};            // RFC 6298 (2.5)
  unsigned max_retransmits = 10;             // data or FIN, then abort with RST
  unsigned max_synack_retransmits = 5;       // Linux tcp_synack_retries
  unsigned max_syn_retransmits = 6;          // Linux tcp_syn_retries (active open)
  Duration fin_wait2_timeout = seconds{60};  // Linux tcp_fin_timeout
  Duration delayed_ack = milliseconds{40};
  // Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off unless keepalive_idle is set.
  std::optional<Duration> keepalive_idle;
  Duration keepalive_interval = seconds{75};  // Linux tcp_keepalive_intvl
  unsigned keepalive_probes = 9;              // Linux tcp_keepalive_probes
  // RFC 5482 user timeout: abort when data stays unacknowledged this long (off when unset;
  // the retransmission limit above still applies).
  std::optional<Duration> user_timeout;
  // RSTs for segments that match no connection: a rate limit keeps tapsrv from being an
  // amplifier for spoofed floods (Linux limits ICMP the same way: 1000/s).
  std::uint32_t resets_per_second = 1000;
  std::uint32_t reset_burst = 200;
  Duration challenge_ack_interval = milliseconds{
      500};  // Linux tcp_invalid_ratelimit   // Linux's TCP_DELACK_MIN; RFC 9293 caps it at 0.5 s
  // A connection that moved no data for this long gives back the storage of its empty
  // buffers (between one and two intervals after its last data).
  Duration idle_buffer_sweep = seconds{1};
  std::size_t max_connections = 10000;  // all states but LISTEN
  std::size_t syn_backlog = 1024;       // connections in SYN_RECEIVED
  // TIME_WAIT records, apart from max_connections (Linux tcp_max_tw_buckets, 262144 on a
  // machine with the usual 524288 established-hash buckets); beyond it the oldest is recycled.
  std::size_t max_time_wait = 262144;
  // Beyond the backlog, answer with SYN cookies (RFC 4987 §3.6, Linux tcp_syncookies=1) rather
  // than drop. The key must be secret and random in production (main draws it from the OS);
  // tests keep the fixed default.
  bool syn_cookies = true;
  std::array<std::uint8_t, 32> syn_cookie_key{};
  // The SipHash key of the connection and TIME_WAIT tables (FourTupleHash): random in production
  // (main draws it from the OS, as the engine is pure), so chosen 4-tuples cannot collide.
  std::array<std::uint8_t, 16> connection_hash_key{};
  std::uint32_t initial_cwnd_segments = 10;   // RFC 6928
  CcKind congestion_control = CcKind::Cubic;  // Linux's default (net.ipv4.tcp_congestion_control)
  bool window_scaling = true;                 // RFC 7323
  bool timestamps = true;                     // RFC 7323
  bool sack = true;                           // RFC 2018, receive side
  bool nagle = true;                          // RFC 9293 §3.7.4
  // ECN (RFC 3168). The defaults are Linux's tcp_ecn=2: agree when a peer's SYN asks, never
  // ask. `ecn` false is tcp_ecn=0 (never); `ecn_on_connect` too is tcp_ecn=1 (our SYNs ask).
  bool ecn = true;
  bool ecn_on_connect = false;
  // Segmentation offload: when non-zero, one segment may carry up to this many payload bytes
  // (a multiple of the MSS) for the device to cut into MSS-sized ones.
  std::uint32_t tso_max_payload = 0;

  /// mtu - 40 (RFC 9293 §3.7.1). For any mtu at least RFC 791's 68, so that a Config the app
  /// would refuse (made in code) still gives a positive MSS: 28 bytes, 16 beside timestamps.
  [[nodiscard]] std::uint16_t our_mss() const noexcept {
    return static_cast<std::uint16_t>(std::max<std::uint16_t>(mtu, 68) - 40);
  }
  /// The window a SYN-ACK offers: all of an empty receive buffer, unscaled (RFC 7323 §2.2).
  [[nodiscard]] std::uint16_t syn_window() const noexcept {
    return static_cast<std::uint16_t>(std::min<std::size_t>(recv_buffer, 0xffff));
  }
  /// RFC 7323 §2.3: the smallest shift that lets a 16-bit field describe the whole buffer.
  [[nodiscard]] std::uint8_t our_window_shift() const noexcept {
    std::uint8_t shift = 0;
    while (shift < 14 && (recv_buffer >> shift) > 0xffff) { ++shift; }
    return shift;
  }
};

}  // namespace tapsrv::tcp
