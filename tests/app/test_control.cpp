// The control socket's protocol and output: state names, request and connection lines, the
// status table and JSON, stats as JSON and in the Prometheus format, JSON string escaping, and
// who may connect.
#include <doctest/doctest.h>

#include <string>

#include "app/control_protocol.hpp"
#include "app/json_text.hpp"
#include "app/stats_format.hpp"
#include "app/status_format.hpp"
#include "support/frames.hpp"
#include "tapsrv/io/control_socket.hpp"

namespace tapsrv::app {
namespace {

using namespace std::chrono_literals;
using tcp::State;

tcp::ConnectionInfo sample() {
  tcp::ConnectionInfo c;
  c.id = tcp::FourTuple{test::kPeerIp, 45044, test::kOurIp, 3333};
  c.state = State::Established;
  c.recv_q = 1;
  c.send_q = 2;
  c.mss = 1448;
  c.wscale = std::pair<std::uint8_t, std::uint8_t>{7, 10};
  c.sack = true;
  c.timestamps = true;
  c.ecn = false;
  c.cwnd = 14480;
  c.ssthresh = 2147483647;
  c.srtt = 120us;
  c.rttvar = 60us;
  c.rto = 200ms;
  c.retransmits = 3;
  c.bytes_sent = 4;
  c.bytes_acked = 5;
  c.bytes_received = 6;
  c.age = 1200ms;
  c.in_state = 1100ms;
  return c;
}

bool same(const tcp::ConnectionInfo& a, const tcp::ConnectionInfo& b) {
  return a.id == b.id && a.state == b.state && a.recv_q == b.recv_q && a.send_q == b.send_q &&
         a.mss == b.mss && a.wscale == b.wscale && a.sack == b.sack &&
         a.timestamps == b.timestamps && a.ecn == b.ecn && a.cwnd == b.cwnd &&
         a.ssthresh == b.ssthresh && a.srtt == b.srtt && a.rttvar == b.rttvar && a.rto == b.rto &&
         a.retransmits == b.retransmits && a.bytes_sent == b.bytes_sent &&
         a.bytes_acked == b.bytes_acked && a.bytes_received == b.bytes_received && a.age == b.age &&
         a.in_state == b.in_state;
}

TEST_SUITE("app.control") {
  TEST_CASE("state names: any case, '-' for '_', every state, nothing else") {
    CHECK(parse_state_name("established") == State::Established);
    CHECK(parse_state_name("CLOSE_WAIT") == State::CloseWait);
    CHECK(parse_state_name("Close-Wait") == State::CloseWait);
    CHECK(parse_state_name("fin_wait_2") == State::FinWait2);
    for (std::size_t i = 0; i < kStateCount; ++i) {
      const auto s = static_cast<State>(i);
      CHECK(parse_state_name(tcp::name(s)) == s);
    }
    for (const char* bad : {"", "estab", "ESTABLISHED ", "TIME_WAIT_", "syn-recv", "LISTEN\n",
                            "a_state_name_longer_than_any"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_state_name(bad).has_value());
    }
  }

  TEST_CASE("requests: status, status STATE, stats; anything else is refused") {
    CHECK(parse_request("status")->kind == Request::Kind::Status);
    CHECK_FALSE(parse_request("status")->state.has_value());
    CHECK(parse_request("status time_wait")->state == State::TimeWait);
    CHECK(parse_request("stats")->kind == Request::Kind::Stats);
    for (const char* bad : {"", "status ", "status bogus", "stats x", "STATUS", "help"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_request(bad).has_value());
    }
    const Request r{.kind = Request::Kind::Status, .state = State::SynReceived};
    CHECK(request_line(r) == "status SYN_RECEIVED\n");
    CHECK(parse_request("status SYN_RECEIVED")->state == State::SynReceived);
  }

  TEST_CASE("a connection line reads back as the same figures") {
    auto c = sample();
    std::string line;
    append_conn_line(line, c);
    CHECK(line.starts_with("conn state=ESTABLISHED local=10.0.0.2:3333 peer=10.0.0.1:45044 "));
    CHECK(line.ends_with(" age_ms=1200 state_ms=1100\n"));
    auto back = parse_conn_line(std::string_view{line}.substr(5, line.size() - 6));
    REQUIRE(back.has_value());
    CHECK(same(*back, c));
    c.wscale.reset();
    line.clear();
    append_conn_line(line, c);
    CHECK(line.find(" wscale=- ") != std::string::npos);
    back = parse_conn_line(std::string_view{line}.substr(5, line.size() - 6));
    REQUIRE(back.has_value());
    CHECK_FALSE(back->wscale.has_value());
  }

  TEST_CASE("a connection line with a field missing or wrong is malformed") {
    std::string line;
    append_conn_line(line, sample());
    const std::string good = line.substr(5, line.size() - 6);
    const auto with = [&](std::string_view from, std::string_view to) {
      std::string s = good;
      s.replace(s.find(from), from.size(), to);
      return s;
    };
    CHECK(parse_conn_line(good).has_value());
    for (const auto& bad :
         {with("state=ESTABLISHED", "state=SOMETHING"), with("recv_q=1", "recv_q=-1"),
          with("recv_q=1 ", ""), with("sack=1", "sack=yes"), with("wscale=7,10", "wscale=7"),
          with("wscale=7,10", "wscale=7,15"), with("peer=10.0.0.1:45044", "peer=10.0.0.1"),
          with("local=10.0.0.2:3333", "local=10.0.0.2:70000"), with("mss=1448", "mss=70000"),
          with("age_ms=1200", "age_ms=")}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_conn_line(bad).has_value());
    }
  }

  TEST_CASE("summary line: a count for every state") {
    StateCounts counts{};
    counts[static_cast<std::size_t>(State::Established)] = 10000;
    counts[static_cast<std::size_t>(State::TimeWait)] = 2;
    std::string line;
    append_summary_line(line, counts);
    CHECK(line.find(" ESTABLISHED=10000 ") != std::string::npos);
    const auto back = parse_summary_line(std::string_view{line}.substr(8, line.size() - 9));
    REQUIRE(back.has_value());
    CHECK(*back == counts);
    CHECK_FALSE(parse_summary_line("LISTEN=1").has_value());
  }

  TEST_CASE("status -j: exactly the documented shape; wscale null when not negotiated") {
    const std::vector<ListenerEntry> listeners{{"10.0.0.2:3333", "echo"}};
    auto c = sample();
    c.recv_q = c.send_q = c.retransmits = c.bytes_sent = c.bytes_acked = c.bytes_received = 0;
    const std::string doc =
        json_begin("0.1.0", "tapsrv0", listeners) + json_connection(c, true) + json_end();
    CHECK(
        doc ==
        R"({"version": "0.1.0", "interface": "tapsrv0", "listeners": [{"local": "10.0.0.2:3333", )"
        R"("service": "echo"}], "connections": [{"state": "ESTABLISHED", "local": "10.0.0.2:3333", )"
        R"("peer": "10.0.0.1:45044", "recv_q": 0, "send_q": 0, "mss": 1448, "wscale": [7, 10], )"
        R"("sack": true, "timestamps": true, "ecn": false, "cwnd": 14480, "ssthresh": 2147483647, )"
        R"("srtt_us": 120, "rttvar_us": 60, "rto_ms": 200, "retransmits": 0, "bytes_sent": 0, )"
        R"("bytes_acked": 0, "bytes_received": 0, "age_ms": 1200, "state_ms": 1100}]})"
        "\n");
    c.wscale.reset();
    const auto second = json_connection(c, false);
    CHECK(second.starts_with(", {\"state\": "));
    CHECK(second.find("\"wscale\": null,") != std::string::npos);
    CHECK(json_begin("v", "if", {}) + json_end() ==
          "{\"version\": \"v\", \"interface\": \"if\", \"listeners\": [], \"connections\": []}\n");
  }

  TEST_CASE("JSON strings: quotes, backslashes and control characters are escaped") {
    std::string out;
    append_json_string(out, "a\"b\\c\nd\te\x01\x1f\x7f \xc3\xa9");
    CHECK(out == "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\x7f \xc3\xa9\"");
  }

  TEST_CASE("status table: an ss-like row, the listeners and counts by state") {
    const auto row = table_row(sample());
    CHECK(row.starts_with("ESTABLISHED        1       2 10.0.0.2:3333         10.0.0.1:45044  "));
    for (const char* part : {" mss:1448 wscale:7,10 sack ts cwnd:14480 rtt:0.120/0.060 rto:200 ",
                             " retrans:3 bytes_sent:4 bytes_acked:5 bytes_received:6 age:1.2s "
                             "state:1.1s\n"}) {
      CAPTURE(part);
      CHECK(row.find(part) != std::string::npos);
    }
    CHECK(row.find("ssthresh") == std::string::npos);  // infinite: left out, as ss does
    auto c = sample();
    c.ssthresh = 28960;
    c.ecn = true;
    c.wscale.reset();
    c.age = 3723s;
    c.in_state = 250ms;
    const auto row2 = table_row(c);
    CHECK(row2.find(" ts ecn cwnd:14480 ssthresh:28960 ") != std::string::npos);
    CHECK(row2.find("wscale") == std::string::npos);
    CHECK(row2.find(" age:1h02m state:250ms\n") != std::string::npos);
    StateCounts counts{};
    counts[static_cast<std::size_t>(State::Established)] = 2;
    counts[static_cast<std::size_t>(State::TimeWait)] = 1;
    const auto footer = table_footer({{"10.0.0.2:3333", "echo"}}, counts);
    CHECK(footer.find("LISTEN ") == 0);
    CHECK(footer.find(" 10.0.0.2:3333         *:*                   echo\n") != std::string::npos);
    CHECK(footer.ends_with("3 connections: ESTABLISHED 2, TIME_WAIT 1, 1 listener\n"));
    CHECK(table_footer({}, StateCounts{}) == "0 connections, 0 listeners\n");
    CHECK(table_header().starts_with("State "));
  }

  TEST_CASE("stats: every counter and drop under the exit report's names, zeros included") {
    Stats stats;
    stats.add(Counter::RxFrames, 12);
    stats.count(Drop::EthNotForUs);
    const auto s = snapshot_of(stats);
    CHECK(s.counters.size() == Stats::kCounterCount);
    CHECK(s.drops.size() == Stats::kDropCount);
    CHECK(s.tx_drops.size() == Stats::kTxDropCount);
    CHECK(s.counters.front().name == "rx_frames");
    CHECK(s.counters.front().value == 12);
    CHECK(s.counters[1].value == 0);
  }

  TEST_CASE("stats -j, --prometheus and text for a small snapshot") {
    const StatsSnapshot s{.counters = {{"rx_frames", 12}, {"tx_frames", 0}},
                          .drops = {{"eth_not_for_us", 3}, {"tcp_bad_checksum", 0}},
                          .tx_drops = {{"arp_unresolved", 2}}};
    CHECK(stats_json(s) ==
          "{\"counters\": {\"rx_frames\": 12, \"tx_frames\": 0}, \"drops\": {\"eth_not_for_us\": "
          "3, \"tcp_bad_checksum\": 0}, \"tx_drops\": {\"arp_unresolved\": 2}}\n");
    CHECK(stats_prometheus(s) ==
          "# HELP tapsrv_rx_frames_total tapsrv counter rx_frames (see tapsrv(8)).\n"
          "# TYPE tapsrv_rx_frames_total counter\n"
          "tapsrv_rx_frames_total 12\n"
          "# HELP tapsrv_tx_frames_total tapsrv counter tx_frames (see tapsrv(8)).\n"
          "# TYPE tapsrv_tx_frames_total counter\n"
          "tapsrv_tx_frames_total 0\n"
          "# HELP tapsrv_drops_total Frames and segments tapsrv dropped, by reason.\n"
          "# TYPE tapsrv_drops_total counter\n"
          "tapsrv_drops_total{reason=\"eth_not_for_us\"} 3\n"
          "tapsrv_drops_total{reason=\"tcp_bad_checksum\"} 0\n"
          "# HELP tapsrv_tx_drops_total Frames of tapsrv's own that could not be sent, by reason.\n"
          "# TYPE tapsrv_tx_drops_total counter\n"
          "tapsrv_tx_drops_total{reason=\"arp_unresolved\"} 2\n");
    const auto text = stats_text(s);
    CHECK(text.starts_with("counters:\n  rx_frames "));
    CHECK(text.find("\ndrops:\n  eth_not_for_us ") != std::string::npos);
    CHECK(text.find("\ntx_drops:\n  arp_unresolved ") != std::string::npos);
    CHECK(text.ends_with(" 2\n"));
  }

  TEST_CASE("who may control: root, tapsrv's own uid, or a member of the group") {
    const io::PeerCred root{.pid = 1, .uid = 0, .gid = 0, .groups = {}};
    const io::PeerCred self{.pid = 1, .uid = 65534, .gid = 65534, .groups = {}};
    const io::PeerCred member{.pid = 1, .uid = 1000, .gid = 1000, .groups = {27, 100}};
    const io::PeerCred primary{.pid = 1, .uid = 1001, .gid = 100, .groups = {}};
    const io::PeerCred other{.pid = 1, .uid = 1002, .gid = 1002, .groups = {27}};
    CHECK(root.may_control(65534, 100));
    CHECK(self.may_control(65534, 100));
    CHECK(member.may_control(65534, 100));
    CHECK(primary.may_control(65534, 100));
    CHECK_FALSE(other.may_control(65534, 100));
    CHECK_FALSE(member.may_control(65534, 0));  // the default group is root
  }

  TEST_CASE("field(): key=value among words, whole keys only") {
    CHECK(field("state=LISTEN state_ms=5", "state_ms") == "5");
    CHECK(field("state_ms=5 state=LISTEN", "state") == "LISTEN");
    CHECK_FALSE(field("states=1", "state").has_value());
    CHECK(parse_u64("18446744073709551615") == 18446744073709551615ULL);
    CHECK_FALSE(parse_u64("18446744073709551616").has_value());
    CHECK_FALSE(parse_u64("+1").has_value());
  }
}

}  // namespace
}  // namespace tapsrv::app
