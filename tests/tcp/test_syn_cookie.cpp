// SYN cookies (RFC 4987 §3.6, Linux's encoding): the pure cookie math, then the listener that
// answers with cookies once its backlog is full and accepts the ACKs that return them.
#include <doctest/doctest.h>

#include <random>

#include "support/tcp_peer.hpp"
#include "tapsrv/tcp/syn_cookie.hpp"

namespace tapsrv::test {
namespace {

using tcp::CookieTsOptions;
using tcp::State;
using tcp::SynCookies;
using wire::SeqNum;

SynCookies::Key test_key() {
  SynCookies::Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) { k[i] = static_cast<std::uint8_t>(i * 7 + 1); }
  return k;
}

const tcp::FourTuple kId{kPeerIp, kPeerPort, kOurIp, kPort};
constexpr SeqNum kPeerIsn{123456789};
constexpr Instant kT0 = Instant{} + std::chrono::hours{5} + 10s;

TEST_SUITE("tcp.syn_cookie") {
  TEST_CASE("every MSS bucket survives the round trip; other MSS values round down") {
    const SynCookies c{test_key()};
    const std::pair<std::uint16_t, std::uint16_t> cases[] = {
        {536, 536},  {1300, 1300}, {1440, 1440}, {1460, 1460}, {48, 536},    {1000, 536},
        {1299, 536}, {1439, 1300}, {1452, 1440}, {1459, 1440}, {9000, 1460}, {65535, 1460}};
    for (const auto& k : cases) {
      const std::uint16_t peer = k.first;  // not a structured binding: clang 14 cannot CAPTURE one
      const std::uint16_t bucket = k.second;
      CAPTURE(peer);
      CHECK(tcp::cookie_mss(peer) == bucket);
      const SeqNum cookie = c.make(kId, kPeerIsn, peer, kT0);
      CHECK(c.check(kId, kPeerIsn, cookie, kT0) == bucket);
    }
  }

  TEST_CASE("window scale and SACK-permitted ride in the TSval's low six bits") {
    for (const std::uint32_t ts_now : {0U, 5U, 63U, 64U, 1000000U, 0xffffffc0U, 0xffffffffU}) {
      for (int ws = -1; ws <= 14; ++ws) {
        for (const bool sack : {false, true}) {
          CookieTsOptions o;
          if (ws >= 0) { o.window_scale = static_cast<std::uint8_t>(ws); }
          o.sack_permitted = sack;
          CAPTURE(ts_now);
          CAPTURE(ws);
          CAPTURE(sack);
          const std::uint32_t ts = tcp::cookie_timestamp(ts_now, o);
          CHECK(tcp::decode_cookie_timestamp(ts) == o);
          // Never ahead of the clock (so the connection's later TSvals pass PAWS), at most 63
          // behind it.
          const auto behind = static_cast<std::int32_t>(ts_now - ts);
          CHECK(behind >= 0);
          CHECK(behind < 64);
        }
      }
    }
  }

  TEST_CASE("a cookie is good in its minute and the next, and stale after that") {
    const SynCookies c{test_key()};
    const Instant made = Instant{} + std::chrono::minutes{7} + 59s;  // late in minute 7
    const SeqNum cookie = c.make(kId, kPeerIsn, 1460, made);
    CHECK(c.check(kId, kPeerIsn, cookie, made) == 1460);
    CHECK(c.check(kId, kPeerIsn, cookie, made + 1s) == 1460);  // minute 8: one step old
    CHECK(c.check(kId, kPeerIsn, cookie, made + 60s) == 1460);
    CHECK(c.check(kId, kPeerIsn, cookie, made + 61s) == std::nullopt);  // minute 9: stale
    CHECK(c.check(kId, kPeerIsn, cookie, made + std::chrono::hours{1}) == std::nullopt);
    // 256 minutes later the counter's top byte repeats, but the hash of that minute differs.
    CHECK(c.check(kId, kPeerIsn, cookie, made + std::chrono::minutes{256}) == std::nullopt);
    CHECK(c.check(kId, kPeerIsn, cookie, made - std::chrono::minutes{1}) == std::nullopt);
  }

  TEST_CASE("a cookie belongs to its 4-tuple, its peer ISN and its key") {
    const SynCookies c{test_key()};
    const SeqNum cookie = c.make(kId, kPeerIsn, 1460, kT0);
    auto other = kId;
    other.remote_port = kPeerPort + 1;
    CHECK(c.check(other, kPeerIsn, cookie, kT0) == std::nullopt);
    other = kId;
    other.remote_ip = ip(10, 0, 0, 3);
    CHECK(c.check(other, kPeerIsn, cookie, kT0) == std::nullopt);
    other = kId;
    other.local_port = kPort + 1;
    CHECK(c.check(other, kPeerIsn, cookie, kT0) == std::nullopt);
    other = kId;
    other.local_ip = ip(10, 0, 0, 4);
    CHECK(c.check(other, kPeerIsn, cookie, kT0) == std::nullopt);
    // The ISN enters by addition, as in Linux: one off moves the MSS index; 2^20 off does not.
    CHECK(c.check(kId, kPeerIsn + (1U << 20), cookie, kT0) == std::nullopt);
    auto key = test_key();
    key[31] ^= 1;  // the second key: the per-minute hash
    CHECK(SynCookies{key}.check(kId, kPeerIsn, cookie, kT0) == std::nullopt);
    key = test_key();
    key[0] ^= 1;  // the first key
    CHECK(SynCookies{key}.check(kId, kPeerIsn, cookie, kT0) == std::nullopt);
  }

  TEST_CASE("forged cookies are rejected: any changed hash or counter bit, random guesses") {
    const SynCookies c{test_key()};
    const SeqNum cookie = c.make(kId, kPeerIsn, 536, kT0);
    // Bits 0 and 1 may land on another valid MSS index (as in Linux); any higher bit may not.
    for (unsigned bit = 2; bit < 32; ++bit) {
      CAPTURE(bit);
      CHECK(c.check(kId, kPeerIsn, SeqNum{cookie.raw ^ (1U << bit)}, kT0) == std::nullopt);
    }
    // A blind guess passes with probability 8 in 2^24 (two minutes, four indexes).
    std::mt19937 rng{5961};
    int accepted = 0;
    for (int i = 0; i < 200000; ++i) {
      if (c.check(kId, kPeerIsn, SeqNum{static_cast<std::uint32_t>(rng())}, kT0)) { ++accepted; }
    }
    CHECK(accepted <= 1);
  }
}

// --- The listener ------------------------------------------------------------------------------

tcp::Config cookie_config() {
  auto cfg = test_config();
  cfg.syn_backlog = 2;
  cfg.syn_cookie_key = test_key();
  return cfg;
}

// Fills the backlog with half-open connections from ports 1001 and 1002.
TcpPeer full_backlog(service::Kind kind = service::Kind::Echo) {
  TcpPeer p = TcpPeer::listening(kPort, kind, cookie_config());
  for (const std::uint16_t port : {1001, 1002}) {
    p.send(from_port(syn(100), port));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .to_port = port});
  }
  p.mark();
  return p;
}

TEST_SUITE("tcp.syn_cookie.listen") {
  TEST_CASE(
      "a full backlog answers with a stateless cookie SYN-ACK; its ACK establishes and "
      "the data it carries is echoed") {
    TcpPeer p = full_backlog();
    p.send(syn(kRemoteIss, {.mss = 1400, .wscale = 7, .sack = true, .ts = {{777, 0}}}));
    const Sent synack = p.expect({.flags = kSyn | kAck, .ack = kRemoteIss + 1, .window = 16384});
    p.expect_nothing();
    const SeqNum cookie{synack.seq()};
    CHECK(SynCookies{test_key()}.check(kId, SeqNum{kRemoteIss}, cookie, p.now()) == 1300);
    const auto& o = synack.seg.options;
    CHECK(o.mss == kMss);
    CHECK(o.window_scale == std::uint8_t{0});  // ours: a 16 KiB buffer needs no shift
    CHECK(o.sack_permitted);
    REQUIRE(o.timestamps);
    CHECK(o.timestamps->echo == 777);
    CHECK(tcp::decode_cookie_timestamp(o.timestamps->value) ==
          CookieTsOptions{.window_scale = 7, .sack_permitted = true});
    CHECK(p.engine().connection_count() == 2);  // no state for the cookie
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_syn_cookies_sent+1");
    p.mark();

    const Buffer hello = pattern(5);
    auto first = with_ts(data(kPeerSeq, cookie.raw + 1, hello, 100), 778, o.timestamps->value);
    p.send(first);
    CHECK(p.state() == State::Established);
    const Sent echo =
        p.expect({.flags = kAck | kPsh, .seq = cookie.raw + 1, .ack = kPeerSeq + 5, .len = 5});
    CHECK(echo.payload == hello);
    REQUIRE(echo.seg.options.timestamps);
    CHECK(echo.seg.options.timestamps->echo == 778);
    CHECK(static_cast<std::int32_t>(echo.seg.options.timestamps->value - o.timestamps->value) >= 0);
    const tcp::Connection* c = p.conn();
    REQUIRE(c != nullptr);
    CHECK(c->mss() == 1300 - 12);       // the cookie's bucket, less the timestamps option
    CHECK(c->snd().wnd == 100U << 7);   // the peer's window scale came back in TSecr
    CHECK(c->snd().una == cookie + 1);  // ISS = the cookie
    CHECK(
        p.transitions().ends_with("LISTEN->SYN_RECEIVED(syn_cookie) "
                                  "SYN_RECEIVED->ESTABLISHED(segment)"));
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_received+5 tcp_bytes_sent+5 "
          "tcp_connections_accepted+1 tcp_connections_established+1 "
          "tcp_syn_cookies_validated+1");
    p.check_invariants();

    // The peer sees its data acknowledged, then closes; the connection is a normal one.
    p.send(with_ts(fin(kPeerSeq + 5, cookie.raw + 6, 100), 779, 0));
    p.expect({.flags = kAck | kFin, .seq = cookie.raw + 6, .ack = kPeerSeq + 6});
    CHECK(p.state() == State::LastAck);
    p.check_invariants();
  }

  TEST_CASE("without timestamps the cookie keeps only the MSS: no window scale, no SACK") {
    TcpPeer p = full_backlog();
    p.send(syn(kRemoteIss, {.mss = 1460, .wscale = 7, .sack = true}));
    const Sent synack = p.expect({.flags = kSyn | kAck, .ack = kRemoteIss + 1});
    CHECK(synack.seg.options.mss == kMss);
    CHECK_FALSE(synack.seg.options.window_scale);
    CHECK_FALSE(synack.seg.options.sack_permitted);
    CHECK_FALSE(synack.seg.options.timestamps);
    p.send(ack(kPeerSeq, synack.seq() + 1, 1000));
    CHECK(p.state() == State::Established);
    p.expect_nothing();
    CHECK(p.conn()->mss() == 1460);
    CHECK(p.conn()->snd().wnd == 1000);  // unscaled
    CHECK(p.drops() == "");
    p.check_invariants();
  }

  TEST_CASE("an ACK whose cookie is wrong is reset, counted and leaves no state") {
    TcpPeer p = full_backlog();
    p.send(syn(kRemoteIss));
    const Sent synack = p.expect({.flags = kSyn | kAck});
    p.mark();
    SUBCASE("forged acknowledgment number") {
      p.send(ack(kPeerSeq, synack.seq() + 1 + 4096));
      p.expect({.flags = kRst, .seq = synack.seq() + 1 + 4096});
    }
    SUBCASE("another peer ISN") {
      p.send(ack(kPeerSeq + 100000, synack.seq() + 1));
      p.expect({.flags = kRst, .seq = synack.seq() + 1});
    }
    SUBCASE("another source port") {
      p.send(from_port(ack(kPeerSeq, synack.seq() + 1), kPeerPort + 1));
      p.expect({.flags = kRst, .seq = synack.seq() + 1, .to_port = kPeerPort + 1});
    }
    CHECK(p.engine().connection_count() == 2);
    CHECK(p.drops() == "tcp_syn_cookie_failed+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE("a cookie is accepted a minute later but not two; FIN on the cookie ACK is taken") {
    TcpPeer p = full_backlog();
    p.send(syn(kRemoteIss));
    const Sent first = p.expect({.flags = kSyn | kAck});
    // The half-open connections time out meanwhile; the backlog has room again.
    p.advance(std::chrono::minutes{1});
    p.take_all();
    CHECK(p.engine().connection_count() == 0);
    p.mark();
    p.send(fin(kPeerSeq, first.seq() + 1));
    CHECK(p.state() == State::LastAck);  // echo closes once the peer has
    p.expect({.flags = kAck | kFin, .seq = first.seq() + 1, .ack = kPeerSeq + 1});
    CHECK(p.drops() == "");

    TcpPeer q = full_backlog();
    q.send(syn(kRemoteIss));
    const Sent stale = q.expect({.flags = kSyn | kAck});
    q.advance(std::chrono::minutes{1} + 59s);
    // The backlog drained meanwhile: fill it again, so the third SYN gets a cookie and cookie
    // checks stay on.
    for (const std::uint16_t port : {2000, 2001, 2002}) { q.send(from_port(syn(100), port)); }
    CHECK(q.stats().get(Counter::TcpSynCookiesSent) == 2);
    q.advance(1s);  // two minutes after the first cookie was made
    q.take_all();
    q.mark();
    q.send(ack(kPeerSeq, stale.seq() + 1));
    q.expect({.flags = kRst, .seq = stale.seq() + 1});
    CHECK(q.drops() == "tcp_syn_cookie_failed+1");
  }

  TEST_CASE("half-open connections beyond the backlog cost nothing, however many") {
    TcpPeer p = full_backlog();
    const auto deadline = p.engine().next_deadline();
    for (std::uint16_t port = 2000; port < 4000; ++port) { p.send(from_port(syn(port), port)); }
    CHECK(p.take_all().size() == 2000);
    CHECK(p.engine().connection_count() == 2);
    CHECK(p.engine().next_deadline() == deadline);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2000 tcp_segments_out+2000 tcp_syn_cookies_sent+2000");
  }

  TEST_CASE("no cookie was sent lately: an ACK at the listener is reset without a cookie check") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Echo, cookie_config());
    const SeqNum cookie = SynCookies{test_key()}.make(kId, SeqNum{kRemoteIss}, 1460, p.now());
    p.send(ack(kPeerSeq, cookie.raw + 1));  // a valid cookie, but we never sent one
    p.expect({.flags = kRst, .seq = cookie.raw + 1});
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "tcp_listen_no_syn+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
