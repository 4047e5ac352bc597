// Counters: every frame we drop is counted once, by reason; every frame we send is counted too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapsrv {

/// Why an input (or a queued output) was dropped. Names are stable: tests and scripts grep them.
enum class Drop : std::uint8_t {
  EthTruncated,
  EthNotForUs,
  EthUnsupportedType,
  ArpMalformed,
  ArpNotForUs,
  ArpUnsupportedOp,
  ArpQueueFull,
  ArpUnresolved,
  ArpConflict,
  Ipv4Truncated,
  Ipv4BadVersion,
  Ipv4BadHeaderLen,
  Ipv4BadTotalLen,
  Ipv4BadChecksum,
  Ipv4BadSource,
  Ipv4NotForUs,
  Ipv4Fragment,
  Ipv4UnknownProtocol,
  Ipv4NoRoute,
  Ipv4TooBig,
  IcmpTruncated,
  IcmpBadChecksum,
  IcmpUnhandledType,
  TcpTruncated,
  TcpBadDataOffset,
  TcpBadChecksum,
  TcpBadOption,
  TcpNoListener,
  TcpRstNoConnection,
  TcpListenNoSyn,
  TcpBadSynFlags,
  TcpBacklogFull,
  TcpSynCookieFailed,
  TcpTooManyConns,
  TcpOutOfWindow,
  TcpPawsRejected,
  TcpRstChallenged,
  TcpSynChallenged,
  TcpNoAck,
  TcpAckTooNew,
  TcpAckTooOld,
  TcpReassemblyFull,
  TcpNoBufferMemory,  // a segment that needed buffer storage past --mem-limit
  UdpNoListener,
  TxError,
  InternalBug,
  kCount
};

/// Things that happened, as opposed to things refused.
enum class Counter : std::uint8_t {
  RxFrames,
  RxBytes,
  TxFrames,
  TxBytes,
  RxOffloadedSegments,  // TCP segments larger than the MTU that the sending kernel left uncut
  TxTsoSegments,        // segments we left for the device to cut at the MSS
  ArpRequestsAnswered,
  ArpRepliesReceived,
  ArpRequestsSent,
  ArpGratuitousSent,
  ArpLearned,
  IcmpEchoReplies,
  IcmpErrorsSent,
  IcmpErrorsRateLimited,
  TcpSegmentsIn,
  TcpSegmentsOut,
  TcpBytesReceived,
  TcpBytesSent,
  TcpConnectionsAccepted,
  TcpConnectionsEstablished,
  TcpSynCookiesSent,
  TcpSynCookiesValidated,
  TcpRetransmits,
  TcpRetransmitTimeouts,
  TcpFastRetransmits,
  TcpLossProbes,
  TcpLossProbeRecoveries,  // a tail probe repaired a loss (RFC 8985 §7.4)
  TcpLostRetransmits,      // RACK found a retransmission lost (RFC 8985 §6.2)
  TcpDsacksReceived,       // RFC 2883 duplicate reports
  TcpSpuriousUndos,        // a reduction undone: DSACK or Eifel showed it needless
  TcpSendBufferGrown,      // bytes of send buffer added by autotuning
  TcpOutOfOrder,
  TcpWindowProbes,
  TcpKeepaliveProbes,
  TcpEcnNegotiated,  // connections that agreed on ECN (RFC 3168 §6.1.1)
  TcpCeReceived,     // data segments that arrived marked CE
  TcpEceReceived,    // ACKs with ECE, outside the handshake
  TcpEcnReductions,  // window reductions in answer to ECE, at most one per window of data
  TcpResetsSent,
  TcpResetsReceived,
  TcpChallengeAcksLimited,
  TcpResetsRateLimited,
  TcpBufferBytesReleased,  // storage idle connections gave back
  TcpTimeWaitExpired,      // TIME_WAIT records that lived their 2 MSL
  TcpTimeWaitRecycled,     // TIME_WAIT records closed early to stay within --max-time-wait
  kCount
};

/// snake_case name of a drop reason, e.g. "ipv4_bad_checksum".
std::string_view name(Drop d) noexcept;
/// snake_case name of a counter, e.g. "rx_frames".
std::string_view name(Counter c) noexcept;

/// Plain counters, owned by the stack's owner; single-threaded.
class Stats {
 public:
  static constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);
  static constexpr std::size_t kCounterCount = static_cast<std::size_t>(Counter::kCount);

  void count(Drop d) noexcept { ++drops_[static_cast<std::size_t>(d)]; }
  void add(Counter c, std::uint64_t n = 1) noexcept { counters_[static_cast<std::size_t>(c)] += n; }

  [[nodiscard]] std::uint64_t get(Drop d) const noexcept {
    return drops_[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] std::uint64_t get(Counter c) const noexcept {
    return counters_[static_cast<std::size_t>(c)];
  }
  [[nodiscard]] std::uint64_t total_drops() const noexcept;

 private:
  std::array<std::uint64_t, kDropCount> drops_{};
  std::array<std::uint64_t, kCounterCount> counters_{};
};

}  // namespace tapsrv
