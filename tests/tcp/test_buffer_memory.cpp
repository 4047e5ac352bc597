// The engine-wide bound on buffer storage (--mem-limit; Linux tcp_mem): what a ring charges,
// what is refused at the limit, the 4 KiB every ring keeps, and what connections do under it:
// new data waits, windows stop opening, and a segment with no storage is dropped and counted,
// then taken when the peer sends it again.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"
#include "tapsrv/tcp/buffer_budget.hpp"
#include "tapsrv/tcp/byte_ring.hpp"

namespace tapsrv::test {
namespace {

using tcp::BufferBudget;
using tcp::ByteRing;
constexpr std::size_t kK = 1024;

TEST_SUITE("tcp.buffer_memory") {
  TEST_CASE("a budget charges up to its limit, refuses beyond it, and always grants 4 KiB") {
    BufferBudget b{12 * kK};
    CHECK(b.pressure_mark() == 8 * kK);
    CHECK(b.charge(0, 8 * kK));
    CHECK(b.under_pressure());
    CHECK(b.pressure_entries() == 1);
    CHECK(b.charge(8 * kK, 4 * kK));
    CHECK_FALSE(b.charge(12 * kK, 1));  // at the limit
    CHECK(b.refusals() == 1);
    CHECK(b.allows(0, 4 * kK));  // a ring holding nothing may still take 4 KiB
    CHECK(b.charge(0, 4 * kK));
    CHECK_FALSE(b.allows(4 * kK, 1));  // but no more
    CHECK(b.used() == 16 * kK);
    CHECK(b.peak() == 16 * kK);
    b.uncharge(16 * kK);
    CHECK(b.used() == 0);
    CHECK_FALSE(b.under_pressure());
    CHECK(b.charge(0, 8 * kK));
    CHECK(b.pressure_entries() == 2);  // counted each time usage crosses the mark going up
    CHECK(b.peak() == 16 * kK);
  }

  TEST_CASE("a ring charges its storage as it grows and gives it back on release and on exit") {
    BufferBudget b{64 * kK};
    {
      ByteRing r{32 * kK, &b};
      const Buffer bytes = pattern(5000);
      CHECK(r.push(bytes) == 5000);
      CHECK(r.allocated() == 8 * kK);
      CHECK(b.used() == 8 * kK);
      r.consume(5000);
      r.release();
      CHECK(b.used() == 0);
      CHECK(r.push(bytes) == 5000);
      CHECK(b.used() == 8 * kK);
    }
    CHECK(b.used() == 0);
  }

  TEST_CASE("at the limit a ring takes only what its storage holds, and room() says so") {
    BufferBudget b{12 * kK};
    ByteRing big{64 * kK, &b};
    const Buffer bytes = pattern(64 * kK);
    CHECK(big.room() == 4 * kK);  // growing to 64 KiB at once is refused, one step is not
    CHECK(big.push(bytes) == 4 * kK);
    CHECK(big.room() == 4 * kK);  // 4 KiB -> 8 KiB fits the 12 KiB too
    CHECK(big.push(bytes) == 4 * kK);
    CHECK(big.room() == 0);  // 8 KiB -> 16 KiB does not
    CHECK(big.push(bytes) == 0);
    ByteRing other{64 * kK, &b};
    CHECK(other.room() == 4 * kK);
    CHECK(other.push(bytes) == 4 * kK);
    ByteRing third{64 * kK, &b};
    CHECK(third.room() == 4 * kK);  // the guarantee: over the limit, but no ring starves
    CHECK_FALSE(third.make_room(4 * kK + 1));
    CHECK(third.make_room(4 * kK));
    CHECK(b.used() == 16 * kK);
    big.consume(8 * kK);
    CHECK(big.room() == 8 * kK);  // what it holds is its own again
  }

  TEST_CASE("chargen under the limit: every connection keeps sending from the storage it holds") {
    tcp::Config cfg = test_config();
    cfg.memory_limit = 12 * kK;  // the send buffers are 16 KiB each
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Chargen, cfg);
    constexpr std::uint16_t kFirst = 41000;
    constexpr int kConns = 3;
    std::size_t queued_sum = 0;
    for (int i = 0; i < kConns; ++i) {
      const auto port = static_cast<std::uint16_t>(kFirst + i);
      p.send(from_port(syn(kRemoteIss), port));
      p.send(from_port(ack(kPeerSeq, kOurSeq), port));
      const std::size_t queued = p.conn(port)->send_buffered();
      CHECK(queued >= BufferBudget::kGuaranteed);  // none starves
      queued_sum += queued;
    }
    const auto& memory = p.engine().buffer_memory();
    std::size_t storage = 0;
    for (int i = 0; i < kConns; ++i) {
      storage += p.conn(static_cast<std::uint16_t>(kFirst + i))->buffer_storage();
    }
    CHECK(memory.used() == storage);
    CHECK(storage <= cfg.memory_limit + kConns * BufferBudget::kGuaranteed);
    CHECK(queued_sum < kConns * cfg.send_buffer);  // without the limit each would queue 16 KiB

    // The last one acknowledges all it got: the bytes it held move on and new ones follow.
    std::size_t got = 0;
    for (const auto& s : p.take_all()) {
      if (s.seg.dst_port == kFirst + kConns - 1) { got += s.payload.size(); }
    }
    REQUIRE(got > 0);
    p.send(
        from_port(ack(kPeerSeq, kOurSeq + static_cast<std::uint32_t>(got)), kFirst + kConns - 1));
    std::size_t more = 0;
    for (const auto& s : p.take_all()) { more += s.payload.size(); }
    CHECK(more > 0);
    CHECK(memory.used() <= cfg.memory_limit + kConns * BufferBudget::kGuaranteed);
  }

  TEST_CASE(
      "under pressure the window stops opening past the storage held; a segment that "
      "needs more is dropped, counted, and taken when sent again") {
    tcp::Config cfg = test_config();  // 16 KiB receive buffer
    cfg.memory_limit = 12 * kK;       // pressure from 8 KiB
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.app().auto_read = false;
    p.app().to_write = pattern(100);  // its ACK wakes the application later
    p.handshake();
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .window = 16384, .len = 100});
    const Buffer stream = pattern(6 * kMss, 7);
    const auto piece = [&](std::uint32_t i) { return wire::Bytes{stream}.subspan(i * kMss, kMss); };
    for (std::uint32_t i = 0; i < 5; ++i) { p.send(data(kPeerSeq + i * kMss, kOurSeq, piece(i))); }
    p.advance(40ms);
    p.take_all();
    CHECK(p.conn()->buffer_storage() == 12 * kK);  // 8 KiB received, 4 KiB for the 100 sent
    CHECK(p.engine().buffer_memory().under_pressure());
    p.mark();
    // The sixth segment would need the ring to grow to 16 KiB: refused, and ACKed as a duplicate.
    p.send(data(kPeerSeq + 5 * kMss, kOurSeq, piece(5)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 5 * kMss});
    CHECK(p.drops() == "tcp_no_buffer_memory+1");
    CHECK(p.conn()->recv_buffered() == 5 * kMss);

    // The application reads; the segment sent again fits the storage held.
    p.app().on_writable = [&app = p.app()](tcp::Connection& c) { app.read_all(c); };
    p.send(ack(kPeerSeq + 5 * kMss, kOurSeq + 100));
    p.take_all();
    CHECK(p.conn()->recv_buffered() == 0);
    p.app().auto_read = true;
    p.send(data(kPeerSeq + 5 * kMss, kOurSeq + 100, piece(5)));
    p.advance(40ms);
    const auto acks = p.take_all();
    REQUIRE_FALSE(acks.empty());
    CHECK(acks.back().ack() == kPeerSeq + 6 * kMss);
    CHECK(p.app().received == stream);
    // Without pressure the right edge would move to RCV.NXT + 16 KiB (a 16384 window); with it,
    // it may only cover the 8 KiB held, which is not past the edge already offered, so the
    // window is what is left of the first one.
    CHECK(acks.back().seg.window == 16384 - 6 * kMss);
    CHECK(p.engine().buffer_memory().used() <= cfg.memory_limit);
  }
}

}  // namespace
}  // namespace tapsrv::test
