// Small MTUs: with timestamps and SACK blocks the TCP options take up to 40 of the MSS's bytes.
// Every segment must still fit the MTU and carry data while holes are open (RFC 9293 §3.7.1:
// options count against the MSS; RFC 2018 §3: send fewer blocks when they do not fit, as
// Linux's tcp_established_options does).
#include <doctest/doctest.h>

#include <algorithm>

#include "support/tcp_peer.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::test {
namespace {

constexpr std::uint32_t kPeerChunk = 12;  // the peer's segments: small, so one MTU fits them
constexpr std::uint32_t kPeerChunks = 40;
constexpr std::size_t kOurBytes = 3000;

struct Seen {
  Buffer ours = Buffer(kOurBytes);  // our stream, placed by sequence number
  std::uint32_t highest = kOurSeq;  // SND.NXT as the peer saw it
  std::uint32_t tsval = 0;          // our newest timestamp, for the peer to echo
  std::uint32_t data_segments = 0;
  std::uint32_t data_with_sack = 0;
  std::uint8_t max_sack_blocks = 0;
};

/// Takes what we sent; each segment must fit `mtu` (IPv4 20 + TCP header with options + the
/// payload of one device-cut piece) and carry options only the negotiation allows.
void take(TcpPeer& p, std::uint16_t mtu, Seen& seen) {
  for (const Sent& s : p.take_all()) {
    CAPTURE(s.text());
    const std::size_t piece =
        s.seg.tso_segment_size != 0 ? s.seg.tso_segment_size : s.payload.size();
    CHECK(wire::kIpv4MinHeaderLen + wire::header_len(s.seg) + piece <= mtu);
    REQUIRE(s.seg.options.timestamps.has_value());
    seen.tsval = s.seg.options.timestamps->value;
    seen.max_sack_blocks = std::max(seen.max_sack_blocks, s.seg.options.sack_count);
    if (s.payload.empty()) { continue; }
    ++seen.data_segments;
    if (s.seg.options.sack_count > 0) { ++seen.data_with_sack; }
    const std::uint32_t off = s.seq() - kOurSeq;
    REQUIRE(off + s.payload.size() <= seen.ours.size());
    std::copy(s.payload.begin(), s.payload.end(), seen.ours.begin() + off);
    seen.highest = std::max<std::uint32_t>(seen.highest, s.seq() + s.payload.size());
  }
}

/// Both ways at once at `mtu`, timestamps and SACK on: the peer sends its chunks odd ones
/// first, so up to twenty holes stay open while we send kOurBytes, then fills them.
Seen transfer(std::uint16_t mtu) {
  tcp::Config c = test_config();
  c.mtu = mtu;
  TcpPeer p = TcpPeer::listening(kPort, c);
  p.app().to_write = pattern(kOurBytes);
  p.handshake({.wscale = 7, .sack = true, .ts = wire::Timestamps{100, 0}});
  Seen seen;
  take(p, mtu, seen);
  const Buffer theirs = pattern(kPeerChunks * kPeerChunk, 7);
  std::uint32_t tsval = 101;
  auto send_chunk = [&](std::uint32_t i) {
    const auto bytes = wire::Bytes{theirs}.subspan(i * kPeerChunk, kPeerChunk);
    p.send(with_ts(data(kPeerSeq + i * kPeerChunk, seen.highest, bytes), tsval++, seen.tsval));
    p.advance(1ms);
    take(p, mtu, seen);
  };
  for (std::uint32_t i = 1; i < kPeerChunks; i += 2) { send_chunk(i); }
  for (std::uint32_t i = 0; i < kPeerChunks; i += 2) { send_chunk(i); }
  // Acknowledge the rest of our data until nothing more comes.
  for (int round = 0; round < 1000 && seen.highest != kOurSeq + kOurBytes; ++round) {
    p.send(with_ts(ack(kPeerSeq + kPeerChunks * kPeerChunk, seen.highest), tsval++, seen.tsval));
    p.advance(1ms);
    take(p, mtu, seen);
  }
  p.send(with_ts(ack(kPeerSeq + kPeerChunks * kPeerChunk, seen.highest), tsval++, seen.tsval));
  p.advance(1s);
  take(p, mtu, seen);
  CHECK(p.app().received == theirs);
  CHECK(seen.ours == pattern(kOurBytes));
  CHECK(p.conn() != nullptr);
  CHECK(p.conn()->snd().una == wire::SeqNum{kOurSeq + kOurBytes});
  CHECK(p.stats().get(Counter::TcpRetransmitTimeouts) == 0);
  CHECK(p.stats().get(Drop::InternalBug) == 0);
  p.check_invariants();
  return seen;
}

TEST_SUITE("tcp.small_mtu") {
  TEST_CASE("at the lowest --mtu every option fits: timestamps and three SACK blocks") {
    const Seen seen = transfer(tcp::Config::kMinMtu);
    CHECK(seen.max_sack_blocks == 3);
    CHECK(seen.data_with_sack > 0);  // data kept flowing while the holes were open
  }

  TEST_CASE("below it the engine still never sends a zero or underflowed MSS") {
    // The regression: send_mss() took 4 + 8 bytes a block from the MSS with no floor. At
    // MTU 72 two blocks left 0 (SIGFPE in output()); at 76-80 three wrapped it around, and
    // every segment was then too big for the link. A config below --mtu's floor comes only
    // from code (tests, fuzzers), but the engine must stay sane for it: fewer blocks, data on.
    struct Case {
      std::uint16_t mtu;
      std::uint8_t blocks;  // what still fits beside 8 bytes of payload
    };
    for (const Case k : {Case{68, 0}, Case{72, 1}, Case{76, 1}, Case{80, 2}, Case{84, 2}}) {
      CAPTURE(k.mtu);
      const Seen seen = transfer(k.mtu);
      CHECK(seen.max_sack_blocks == k.blocks);
      CHECK(seen.data_segments > 0);
    }
  }

  TEST_CASE("at larger MTUs the blocks are limited by option space alone") {
    const Seen seen = transfer(200);
    CHECK(seen.max_sack_blocks == 3);
  }
}

}  // namespace
}  // namespace tapsrv::test
