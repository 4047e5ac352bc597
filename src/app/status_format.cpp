#include "app/status_format.hpp"

#include <spdlog/fmt/fmt.h>

#include "app/json_text.hpp"

namespace tapsrv::app {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr std::uint32_t kInfiniteSsthresh = 0x7fffffffU;

std::int64_t ms(Duration d) { return duration_cast<milliseconds>(d).count(); }

// "850ms", "1.2s", "3m07s", "2h01m": short enough for a column, as ss and ps print ages.
std::string age_text(Duration d) {
  const auto m = ms(d);
  if (m < 1000) { return fmt::format("{}ms", m); }
  if (m < 60'000) { return fmt::format("{}.{}s", m / 1000, (m % 1000) / 100); }
  const auto s = m / 1000;
  if (s < 3600) { return fmt::format("{}m{:02}s", s / 60, s % 60); }
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

}  // namespace

std::string table_header() {
  return fmt::format("{:<12} {:>7} {:>7} {:<21} {:<21} {}\n", "State", "Recv-Q", "Send-Q",
                     "Local Address:Port", "Peer Address:Port", "Details");
}

std::string table_row(const tcp::ConnectionInfo& c) {
  std::string row = fmt::format("{:<12} {:>7} {:>7} {:<21} {:<21} mss:{}", tcp::name(c.state),
                                c.recv_q, c.send_q, endpoint_text(c.id.local_ip, c.id.local_port),
                                endpoint_text(c.id.remote_ip, c.id.remote_port), c.mss);
  auto out = std::back_inserter(row);
  if (c.wscale) { fmt::format_to(out, " wscale:{},{}", c.wscale->first, c.wscale->second); }
  if (c.sack) { row += " sack"; }
  if (c.timestamps) { row += " ts"; }
  if (c.ecn) { row += " ecn"; }
  fmt::format_to(out, " cwnd:{}", c.cwnd);
  if (c.ssthresh < kInfiniteSsthresh) { fmt::format_to(out, " ssthresh:{}", c.ssthresh); }
  // ss prints rtt:SRTT/RTTVAR in milliseconds with three decimals, and none before a sample.
  if (c.srtt > Duration{}) {
    fmt::format_to(out, " rtt:{:.3f}/{:.3f}", static_cast<double>(c.srtt.count()) / 1000.0,
                   static_cast<double>(c.rttvar.count()) / 1000.0);
  }
  fmt::format_to(out, " rto:{}", ms(c.rto));
  fmt::format_to(out,
                 " retrans:{} bytes_sent:{} bytes_acked:{} bytes_received:{} age:{} state:{}\n",
                 c.retransmits, c.bytes_sent, c.bytes_acked, c.bytes_received, age_text(c.age),
                 age_text(c.in_state));
  return row;
}

std::string table_footer(const std::vector<ListenerEntry>& listeners, const StateCounts& counts) {
  std::string out;
  for (const auto& l : listeners) {
    fmt::format_to(std::back_inserter(out), "{:<12} {:>7} {:>7} {:<21} {:<21} {}\n", "LISTEN", 0, 0,
                   l.local, "*:*", l.service);
  }
  std::uint64_t total = 0;
  std::string by_state;
  for (std::size_t i = 0; i < kStateCount; ++i) {
    if (counts[i] == 0) { continue; }
    total += counts[i];
    fmt::format_to(std::back_inserter(by_state), "{}{} {}", by_state.empty() ? ": " : ", ",
                   tcp::name(static_cast<tcp::State>(i)), counts[i]);
  }
  fmt::format_to(std::back_inserter(out), "{} connection{}{}, {} listener{}\n", total,
                 total == 1 ? "" : "s", by_state, listeners.size(),
                 listeners.size() == 1 ? "" : "s");
  return out;
}

std::string json_begin(std::string_view version, std::string_view interface,
                       const std::vector<ListenerEntry>& listeners) {
  std::string out = "{\"version\": ";
  append_json_string(out, version);
  out += ", \"interface\": ";
  append_json_string(out, interface);
  out += ", \"listeners\": [";
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    out += i == 0 ? "{\"local\": " : ", {\"local\": ";
    append_json_string(out, listeners[i].local);
    out += ", \"service\": ";
    append_json_string(out, listeners[i].service);
    out += '}';
  }
  out += "], \"connections\": [";
  return out;
}

std::string json_connection(const tcp::ConnectionInfo& c, bool first) {
  std::string out = first ? "{\"state\": " : ", {\"state\": ";
  append_json_string(out, tcp::name(c.state));
  out += ", \"local\": ";
  append_json_string(out, endpoint_text(c.id.local_ip, c.id.local_port));
  out += ", \"peer\": ";
  append_json_string(out, endpoint_text(c.id.remote_ip, c.id.remote_port));
  const std::string wscale =
      c.wscale ? fmt::format("[{}, {}]", c.wscale->first, c.wscale->second) : "null";
  fmt::format_to(std::back_inserter(out),
                 ", \"recv_q\": {}, \"send_q\": {}, \"mss\": {}, \"wscale\": {}, \"sack\": {}, "
                 "\"timestamps\": {}, \"ecn\": {}, \"cwnd\": {}, \"ssthresh\": {}, "
                 "\"srtt_us\": {}, \"rttvar_us\": {}, \"rto_ms\": {}, \"retransmits\": {}, "
                 "\"bytes_sent\": {}, \"bytes_acked\": {}, \"bytes_received\": {}, "
                 "\"age_ms\": {}, \"state_ms\": {}}}",
                 c.recv_q, c.send_q, c.mss, wscale, c.sack, c.timestamps, c.ecn, c.cwnd, c.ssthresh,
                 c.srtt.count(), c.rttvar.count(), ms(c.rto), c.retransmits, c.bytes_sent,
                 c.bytes_acked, c.bytes_received, ms(c.age), ms(c.in_state));
  return out;
}

std::string json_end() { return "]}\n"; }

}  // namespace tapsrv::app
