// Sequence space is modular (RFC 9293 §3.4): a transfer of more than 4 GiB wraps it, and any
// sequence number the connection keeps must stay within 2^31 of SND.UNA to be compared. The
// recovery point (RFC 6675 RecoveryPoint, Linux high_seq) once stayed where the last loss left
// it, so 2 GiB later it read as ahead of SND.UNA and fast retransmit was off for 2 GiB more.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::Connection;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint32_t kSegment = 64 * 1024;  // one TSO segment
constexpr std::size_t kBuffer = 16 * 1024 * 1024;

/// Established with a 1 GiB window (scale 14), sending `total` bytes from a fixed block as
/// the send buffer frees up; payloads are not recorded.
struct Bulk {
  explicit Bulk(std::uint64_t total_bytes) : total{total_bytes} {
    tcp::Config c = test_config();
    c.send_buffer = kBuffer;
    c.tso_max_payload = kSegment;
    c.max_connections = 2;
    p = TcpPeer::listening(kPort, c);
    p.keep_payloads(false);
    p.app().on_writable = [this](tcp::Connection& conn) { fill(conn); };
    p.app().on_readable = [this](tcp::Connection& conn) { fill(conn); };
    p.app().to_write = block;  // queued once established, the rest as room comes
    written = block.size();
    p.handshake({.wscale = 14, .sack = true});
  }
  void fill(tcp::Connection& conn) {
    while (written < total && conn.writable() > 0) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), total - written));
      const std::size_t took = conn.write(wire::Bytes{block}.first(n));
      if (took == 0) { break; }
      written += took;
    }
  }
  /// Takes what was sent, noting the end of the highest segment.
  void take() {
    for (const Sent& x : p.take_all()) { sent_end = std::max(sent_end, offset(x.seq()) + x.len); }
  }
  /// The 64-bit offset of a sequence number within [acked - 2^31, acked + 2^31).
  [[nodiscard]] std::uint64_t offset(std::uint32_t seq) const {
    const auto base = static_cast<std::uint32_t>(kOurSeq + acked);
    return acked + static_cast<std::uint64_t>(
                       static_cast<std::int64_t>(static_cast<std::int32_t>(seq - base)));
  }
  [[nodiscard]] std::uint32_t seq_at(std::uint64_t off) const {
    return static_cast<std::uint32_t>(kOurSeq + off);
  }
  /// Cumulative ACK of everything sent, in one stride.
  void ack_all() {
    acked = sent_end;
    p.send(ack(kPeerSeq, seq_at(acked)));
    p.advance(1ms);
    take();
  }
  /// Sends and acknowledges in strides until `until` bytes are acknowledged.
  void run_to(std::uint64_t until) {
    take();
    for (int i = 0; acked < until && i < 1'000'000; ++i) { ack_all(); }
  }
  /// The peer lost the segment at offset `lost` (of `len` bytes) but got all the rest: one ACK
  /// of `lost` SACKing [lost + len, sent_end). Returns what we sent in answer.
  std::vector<Sent> lose(std::uint64_t lost, std::uint32_t len) {
    acked = lost;
    wire::TcpSegment a = ack(kPeerSeq, seq_at(lost));
    a.options.sack[0] = {wire::SeqNum{seq_at(lost + len)}, wire::SeqNum{seq_at(sent_end)}};
    a.options.sack_count = 1;
    p.send(a);
    return p.take_all();
  }

  Buffer block = pattern(kBuffer);
  std::uint64_t total;
  std::uint64_t written = 0;
  std::uint64_t acked = 0;     // offset of SND.UNA as the peer made it
  std::uint64_t sent_end = 0;  // offset of the highest byte sent, + 1
  TcpPeer p;
};

/// A loss at `at`: must be repaired by fast retransmit at once, never by the RTO.
void lose_and_recover(Bulk& b, std::uint64_t at) {
  b.run_to(at);
  REQUIRE(b.sent_end > b.acked + kSegment);  // a flight is out: data above the hole
  const std::uint64_t hole = b.acked;
  const auto fast_before = b.p.stats().get(Counter::TcpFastRetransmits);
  const auto rto_before = b.p.stats().get(Counter::TcpRetransmitTimeouts);
  const auto resent_before = b.p.stats().get(Counter::TcpRetransmits);
  const auto answer = b.lose(hole, kSegment);
  // RFC 6675 §5: the one ACK SACKs far more than DupThresh segments above the hole, so the
  // hole goes again at once; without that, only the RTO (200 ms or more) would resend it.
  CHECK(b.p.stats().get(Counter::TcpRetransmits) > resent_before);
  REQUIRE(!answer.empty());
  CHECK(answer.front().seq() == b.seq_at(hole));  // the hole, resent first
  CHECK(answer.front().len > 0);
  CHECK(b.p.conn()->recovery() == Connection::Recovery::Fast);
  CHECK(b.p.stats().get(Counter::TcpFastRetransmits) == fast_before + 1);
  // The retransmission arrives: everything is acknowledged and recovery ends.
  b.take();
  b.ack_all();
  CHECK(b.p.conn()->recovery() == Connection::Recovery::Open);
  CHECK(b.p.stats().get(Counter::TcpRetransmitTimeouts) == rto_before);
}

TEST_SUITE("tcp.long_transfer") {
  TEST_CASE("4.5 GiB in strides: a loss 3.75 GiB after the last one is fast-retransmitted") {
    Bulk b{kGiB * 9 / 2};
    // A first loss early on sets the recovery point; 3.75 GiB later SND.UNA is more than
    // 2^31 past it, where a recovery point left behind compares as ahead of SND.UNA.
    lose_and_recover(b, kGiB / 2);
    lose_and_recover(b, kGiB * 17 / 4);
    b.run_to(b.total);
    CHECK(b.acked == b.total);
    CHECK(b.written == b.total);
    CHECK(b.p.conn()->snd().una == wire::SeqNum{b.seq_at(b.total)});
    CHECK(b.p.stats().get(Counter::TcpFastRetransmits) == 2);
    CHECK(b.p.stats().get(Counter::TcpRetransmitTimeouts) == 0);
    CHECK(b.p.stats().get(Counter::TcpBytesSent) >= b.total);
    CHECK(b.p.drops() == "");
    b.p.check_invariants();
  }
}

}  // namespace
}  // namespace tapsrv::test
