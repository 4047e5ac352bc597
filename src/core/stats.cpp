#include "tapsrv/core/stats.hpp"

#include <numeric>

namespace tapsrv {

std::string_view name(Drop d) noexcept {
  switch (d) {
    case Drop::EthTruncated: return "eth_truncated";
    case Drop::EthNotForUs: return "eth_not_for_us";
    case Drop::EthUnsupportedType: return "eth_unsupported_type";
    case Drop::ArpMalformed: return "arp_malformed";
    case Drop::ArpNotForUs: return "arp_not_for_us";
    case Drop::ArpUnsupportedOp: return "arp_unsupported_op";
    case Drop::ArpQueueFull: return "arp_queue_full";
    case Drop::ArpUnresolved: return "arp_unresolved";
    case Drop::ArpConflict: return "arp_conflict";
    case Drop::Ipv4Truncated: return "ipv4_truncated";
    case Drop::Ipv4BadVersion: return "ipv4_bad_version";
    case Drop::Ipv4BadHeaderLen: return "ipv4_bad_header_len";
    case Drop::Ipv4BadTotalLen: return "ipv4_bad_total_len";
    case Drop::Ipv4BadChecksum: return "ipv4_bad_checksum";
    case Drop::Ipv4BadSource: return "ipv4_bad_source";
    case Drop::Ipv4NotForUs: return "ipv4_not_for_us";
    case Drop::Ipv4Fragment: return "ipv4_fragment";
    case Drop::Ipv4UnknownProtocol: return "ipv4_unknown_protocol";
    case Drop::Ipv4NoRoute: return "ipv4_no_route";
    case Drop::Ipv4TooBig: return "ipv4_too_big";
    case Drop::IcmpTruncated: return "icmp_truncated";
    case Drop::IcmpBadChecksum: return "icmp_bad_checksum";
    case Drop::IcmpUnhandledType: return "icmp_unhandled_type";
    case Drop::TcpTruncated: return "tcp_truncated";
    case Drop::TcpBadDataOffset: return "tcp_bad_data_offset";
    case Drop::TcpBadChecksum: return "tcp_bad_checksum";
    case Drop::TcpBadOption: return "tcp_bad_option";
    case Drop::TcpNoListener: return "tcp_no_listener";
    case Drop::TcpRstNoConnection: return "tcp_rst_no_connection";
    case Drop::TcpListenNoSyn: return "tcp_listen_no_syn";
    case Drop::TcpBadSynFlags: return "tcp_bad_syn_flags";
    case Drop::TcpBacklogFull: return "tcp_backlog_full";
    case Drop::TcpSynCookieFailed: return "tcp_syn_cookie_failed";
    case Drop::TcpTooManyConns: return "tcp_too_many_conns";
    case Drop::TcpOutOfWindow: return "tcp_out_of_window";
    case Drop::TcpPawsRejected: return "tcp_paws_rejected";
    case Drop::TcpRstChallenged: return "tcp_rst_challenged";
    case Drop::TcpSynChallenged: return "tcp_syn_challenged";
    case Drop::TcpNoAck: return "tcp_no_ack";
    case Drop::TcpAckTooNew: return "tcp_ack_too_new";
    case Drop::TcpAckTooOld: return "tcp_ack_too_old";
    case Drop::TcpReassemblyFull: return "tcp_reassembly_full";
    case Drop::TcpNoBufferMemory: return "tcp_no_buffer_memory";
    case Drop::UdpNoListener: return "udp_no_listener";
    case Drop::TxError: return "tx_error";
    case Drop::InternalBug: return "internal_bug";
    case Drop::kCount: break;
  }
  return "unknown";
}

std::string_view name(Counter c) noexcept {
  switch (c) {
    case Counter::RxFrames: return "rx_frames";
    case Counter::RxBytes: return "rx_bytes";
    case Counter::TxFrames: return "tx_frames";
    case Counter::TxBytes: return "tx_bytes";
    case Counter::RxOffloadedSegments: return "rx_offloaded_segments";
    case Counter::TxTsoSegments: return "tx_tso_segments";
    case Counter::ArpRequestsAnswered: return "arp_requests_answered";
    case Counter::ArpRepliesReceived: return "arp_replies_received";
    case Counter::ArpRequestsSent: return "arp_requests_sent";
    case Counter::ArpGratuitousSent: return "arp_gratuitous_sent";
    case Counter::ArpLearned: return "arp_learned";
    case Counter::IcmpEchoReplies: return "icmp_echo_replies";
    case Counter::IcmpErrorsSent: return "icmp_errors_sent";
    case Counter::IcmpErrorsRateLimited: return "icmp_errors_rate_limited";
    case Counter::TcpSegmentsIn: return "tcp_segments_in";
    case Counter::TcpSegmentsOut: return "tcp_segments_out";
    case Counter::TcpBytesReceived: return "tcp_bytes_received";
    case Counter::TcpBytesSent: return "tcp_bytes_sent";
    case Counter::TcpConnectionsAccepted: return "tcp_connections_accepted";
    case Counter::TcpConnectionsEstablished: return "tcp_connections_established";
    case Counter::TcpSynCookiesSent: return "tcp_syn_cookies_sent";
    case Counter::TcpSynCookiesValidated: return "tcp_syn_cookies_validated";
    case Counter::TcpRetransmits: return "tcp_retransmits";
    case Counter::TcpRetransmitTimeouts: return "tcp_retransmit_timeouts";
    case Counter::TcpFastRetransmits: return "tcp_fast_retransmits";
    case Counter::TcpLossProbes: return "tcp_loss_probes";
    case Counter::TcpLossProbeRecoveries: return "tcp_loss_probe_recoveries";
    case Counter::TcpLostRetransmits: return "tcp_lost_retransmits";
    case Counter::TcpDsacksReceived: return "tcp_dsacks_received";
    case Counter::TcpSpuriousUndos: return "tcp_spurious_undos";
    case Counter::TcpSendBufferGrown: return "tcp_send_buffer_grown";
    case Counter::TcpOutOfOrder: return "tcp_out_of_order";
    case Counter::TcpWindowProbes: return "tcp_window_probes";
    case Counter::TcpKeepaliveProbes: return "tcp_keepalive_probes";
    case Counter::TcpEcnNegotiated: return "tcp_ecn_negotiated";
    case Counter::TcpCeReceived: return "tcp_ce_received";
    case Counter::TcpEceReceived: return "tcp_ece_received";
    case Counter::TcpEcnReductions: return "tcp_ecn_reductions";
    case Counter::TcpResetsSent: return "tcp_resets_sent";
    case Counter::TcpResetsReceived: return "tcp_resets_received";
    case Counter::TcpChallengeAcksLimited: return "tcp_challenge_acks_limited";
    case Counter::TcpBufferBytesReleased: return "tcp_buffer_bytes_released";
    case Counter::TcpTimeWaitExpired: return "tcp_time_wait_expired";
    case Counter::TcpTimeWaitRecycled: return "tcp_time_wait_recycled";
    case Counter::TcpResetsRateLimited: return "tcp_resets_rate_limited";
    case Counter::kCount: break;
  }
  return "unknown";
}

std::uint64_t Stats::total_drops() const noexcept {
  return std::accumulate(drops_.begin(), drops_.end(), std::uint64_t{0});
}

}  // namespace tapsrv
