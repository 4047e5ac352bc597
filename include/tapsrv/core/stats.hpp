// Counters: every frame that arrives is either delivered or dropped once, by reason
// (rx_frames = sum(drops) + rx_delivered); every frame we meant to send is sent or counted as a
// tx drop, by reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapsrv {

/// Why an arriving frame was refused. Each arriving frame counts at most one of these (Stack::
/// on_frame checks it), so their sum and rx_delivered add up to rx_frames. Names are stable:
/// tests and scripts grep them.
enum class Drop : std::uint8_t {
  EthTruncated,
  EthNotForUs,
  EthUnsupportedType,
  ArpMalformed,
  ArpNotForUs,
  ArpUnsupportedOp,
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
  kCount
};

/// Why a frame of our own did not go out: output, not arrivals (Linux counts these as tx_dropped,
/// apart from rx_dropped).
enum class TxDrop : std::uint8_t {
  ArpQueueFull,   // its next hop was unresolved and that neighbour's queue was full
  ArpUnresolved,  // it waited for a next hop that never answered ARP
  Ipv4NoRoute,    // no gateway for an off-subnet destination
  Ipv4TooBig,     // larger than the MTU (we do not fragment)
  TxError,        // the TAP refused the write
  kCount
};

/// Things that happened, as opposed to things refused.
enum class Counter : std::uint8_t {
  RxFrames,
  RxBytes,
  RxDelivered,  // arriving frames some layer used (the rest are counted in Drop)
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
  TcpZeroWindowProbesIn,  // acceptable segments at RCV.NXT whose text a zero window refused
  TcpKeepaliveProbes,
  TcpAbortsOnTimeout,  // reset by a timer: retransmission or probe limit, user timeout, keepalive
  TcpEcnNegotiated,    // connections that agreed on ECN (RFC 3168 §6.1.1)
  TcpCeReceived,       // data segments that arrived marked CE
  TcpEceReceived,      // ACKs with ECE, outside the handshake
  TcpEcnReductions,    // window reductions in answer to ECE, at most one per window of data
  TcpResetsSent,
  TcpResetsReceived,
  TcpChallengeAcksLimited,
  TcpSynAcksLimited,  // SYN,ACKs withheld for repeated SYNs in SYN_RECEIVED (500 ms limit)
  TcpResetsRateLimited,
  TcpBufferBytesReleased,  // storage idle connections gave back
  TcpTimeWaitExpired,      // TIME_WAIT records that lived their 2 MSL
  TcpTimeWaitRecycled,     // TIME_WAIT records closed early to stay within --max-time-wait
  TcpTimeWaitReopened,     // TIME_WAIT records a new incarnation's SYN ended (RFC 6191)
  InternalBug,             // TAPSRV_BUG_IF fired: our own inconsistency, the connection reset
  LogLinesSuppressed,      // log lines a peer could drive, dropped by their rate limit
  kCount
};

/// snake_case name of a drop reason, e.g. "ipv4_bad_checksum".
std::string_view name(Drop d) noexcept;
/// snake_case name of a tx drop reason, e.g. "arp_unresolved".
std::string_view name(TxDrop d) noexcept;
/// snake_case name of a counter, e.g. "rx_frames".
std::string_view name(Counter c) noexcept;

/// Plain counters, owned by the stack's owner; single-threaded.
class Stats {
 public:
  static constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);
  static constexpr std::size_t kTxDropCount = static_cast<std::size_t>(TxDrop::kCount);
  static constexpr std::size_t kCounterCount = static_cast<std::size_t>(Counter::kCount);

  void count(Drop d) noexcept {
    ++drops_[static_cast<std::size_t>(d)];
    ++total_drops_;
  }
  void count(TxDrop d) noexcept { ++tx_drops_[static_cast<std::size_t>(d)]; }
  void add(Counter c, std::uint64_t n = 1) noexcept { counters_[static_cast<std::size_t>(c)] += n; }

  [[nodiscard]] std::uint64_t get(Drop d) const noexcept {
    return drops_[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] std::uint64_t get(TxDrop d) const noexcept {
    return tx_drops_[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] std::uint64_t get(Counter c) const noexcept {
    return counters_[static_cast<std::size_t>(c)];
  }
  /// The sum of every Drop (input only), kept as they are counted: O(1).
  [[nodiscard]] std::uint64_t total_drops() const noexcept { return total_drops_; }
  [[nodiscard]] std::uint64_t total_tx_drops() const noexcept;
  /// rx_frames == sum(drops) + rx_delivered: every arrival accounted for exactly once.
  [[nodiscard]] bool frames_add_up() const noexcept {
    return get(Counter::RxFrames) == total_drops_ + get(Counter::RxDelivered);
  }

 private:
  std::array<std::uint64_t, kDropCount> drops_{};
  std::array<std::uint64_t, kTxDropCount> tx_drops_{};
  std::uint64_t total_drops_ = 0;
  std::array<std::uint64_t, kCounterCount> counters_{};
};

}  // namespace tapsrv
