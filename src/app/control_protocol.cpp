#include "app/control_protocol.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>

#include "app/config.hpp"

namespace tapsrv::app {
namespace {

using tcp::State;

char upper(char c) noexcept {
  if (c >= 'a' && c <= 'z') { return static_cast<char>(c - 'a' + 'A'); }
  return c == '-' ? '_' : c;
}

std::optional<std::pair<wire::Ipv4Addr, std::uint16_t>> parse_endpoint(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) { return std::nullopt; }
  const auto ip = parse_ipv4(s.substr(0, colon));
  const auto port = parse_u64(s.substr(colon + 1));
  if (!ip || !port || *port > 0xffff) { return std::nullopt; }
  return std::pair{*ip, static_cast<std::uint16_t>(*port)};
}

std::optional<bool> parse_flag(std::string_view s) noexcept {
  if (s == "1") { return true; }
  if (s == "0") { return false; }
  return std::nullopt;
}

}  // namespace

std::optional<State> parse_state_name(std::string_view text) noexcept {
  if (text.empty() || text.size() > 16) { return std::nullopt; }
  std::array<char, 16> up{};
  for (std::size_t i = 0; i < text.size(); ++i) { up[i] = upper(text[i]); }
  const std::string_view wanted{up.data(), text.size()};
  for (std::size_t i = 0; i < kStateCount; ++i) {
    const auto s = static_cast<State>(i);
    if (tcp::name(s) == wanted) { return s; }
  }
  return std::nullopt;
}

std::optional<Request> parse_request(std::string_view line) noexcept {
  if (line == "stats") { return Request{.kind = Request::Kind::Stats, .state = {}}; }
  if (line == "status") { return Request{}; }
  if (line.starts_with("status ")) {
    const auto s = parse_state_name(line.substr(7));
    if (!s) { return std::nullopt; }
    return Request{.kind = Request::Kind::Status, .state = s};
  }
  return std::nullopt;
}

std::string request_line(const Request& r) {
  if (r.kind == Request::Kind::Stats) { return "stats\n"; }
  if (!r.state) { return "status\n"; }
  return fmt::format("status {}\n", tcp::name(*r.state));
}

std::string endpoint_text(wire::Ipv4Addr ip, std::uint16_t port) {
  return fmt::format("{}:{}", wire::to_text(ip).view(), port);
}

void append_conn_line(std::string& out, const tcp::ConnectionInfo& c) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto ms = [](Duration d) { return duration_cast<milliseconds>(d).count(); };
  const std::string wscale =
      c.wscale ? fmt::format("{},{}", c.wscale->first, c.wscale->second) : std::string{"-"};
  fmt::format_to(std::back_inserter(out),
                 "conn state={} local={} peer={} recv_q={} send_q={} mss={} wscale={} sack={:d} "
                 "timestamps={:d} ecn={:d} cwnd={} ssthresh={} srtt_us={} rttvar_us={} rto_ms={} "
                 "retransmits={} bytes_sent={} bytes_acked={} bytes_received={} age_ms={} "
                 "state_ms={}\n",
                 tcp::name(c.state), endpoint_text(c.id.local_ip, c.id.local_port),
                 endpoint_text(c.id.remote_ip, c.id.remote_port), c.recv_q, c.send_q, c.mss, wscale,
                 c.sack, c.timestamps, c.ecn, c.cwnd, c.ssthresh, c.srtt.count(), c.rttvar.count(),
                 ms(c.rto), c.retransmits, c.bytes_sent, c.bytes_acked, c.bytes_received, ms(c.age),
                 ms(c.in_state));
}

std::optional<tcp::ConnectionInfo> parse_conn_line(std::string_view rest) noexcept {
  tcp::ConnectionInfo c;
  const auto state = field(rest, "state");
  const auto local = field(rest, "local");
  const auto peer = field(rest, "peer");
  const auto wscale = field(rest, "wscale");
  if (!state || !local || !peer || !wscale) { return std::nullopt; }
  const auto s = parse_state_name(*state);
  const auto l = parse_endpoint(*local);
  const auto p = parse_endpoint(*peer);
  if (!s || !l || !p) { return std::nullopt; }
  c.state = *s;
  c.id = tcp::FourTuple{p->first, p->second, l->first, l->second};
  if (*wscale != "-") {
    const auto comma = wscale->find(',');
    if (comma == std::string_view::npos) { return std::nullopt; }
    const auto a = parse_u64(wscale->substr(0, comma));
    const auto b = parse_u64(wscale->substr(comma + 1));
    if (!a || !b || *a > 14 || *b > 14) { return std::nullopt; }
    c.wscale = std::pair{static_cast<std::uint8_t>(*a), static_cast<std::uint8_t>(*b)};
  }
  for (const auto& [key, out] :
       {std::pair{"sack", &c.sack}, {"timestamps", &c.timestamps}, {"ecn", &c.ecn}}) {
    const auto v = field(rest, key);
    const auto b = v ? parse_flag(*v) : std::nullopt;
    if (!b) { return std::nullopt; }
    *out = *b;
  }
  std::uint64_t mss = 0, cwnd = 0, ssthresh = 0, srtt = 0, rttvar = 0, rto = 0, age = 0,
                state_ms = 0;
  for (const auto& [key, out] : {std::pair{"recv_q", &c.recv_q},
                                 {"send_q", &c.send_q},
                                 {"mss", &mss},
                                 {"cwnd", &cwnd},
                                 {"ssthresh", &ssthresh},
                                 {"srtt_us", &srtt},
                                 {"rttvar_us", &rttvar},
                                 {"rto_ms", &rto},
                                 {"retransmits", &c.retransmits},
                                 {"bytes_sent", &c.bytes_sent},
                                 {"bytes_acked", &c.bytes_acked},
                                 {"bytes_received", &c.bytes_received},
                                 {"age_ms", &age},
                                 {"state_ms", &state_ms}}) {
    const auto v = field(rest, key);
    const auto n = v ? parse_u64(*v) : std::nullopt;
    if (!n) { return std::nullopt; }
    *out = *n;
  }
  if (mss > 0xffff || cwnd > 0xffffffffU || ssthresh > 0xffffffffU) { return std::nullopt; }
  c.mss = static_cast<std::uint16_t>(mss);
  c.cwnd = static_cast<std::uint32_t>(cwnd);
  c.ssthresh = static_cast<std::uint32_t>(ssthresh);
  const auto to_us = [](std::uint64_t v) { return Duration{static_cast<Duration::rep>(v)}; };
  c.srtt = to_us(srtt);
  c.rttvar = to_us(rttvar);
  c.rto = to_us(rto * 1000);
  c.age = to_us(age * 1000);
  c.in_state = to_us(state_ms * 1000);
  return c;
}

void append_summary_line(std::string& out, const StateCounts& counts) {
  out += "summary";
  for (std::size_t i = 0; i < kStateCount; ++i) {
    fmt::format_to(std::back_inserter(out), " {}={}", tcp::name(static_cast<State>(i)), counts[i]);
  }
  out += '\n';
}

std::optional<StateCounts> parse_summary_line(std::string_view rest) noexcept {
  StateCounts counts{};
  for (std::size_t i = 0; i < kStateCount; ++i) {
    const auto v = field(rest, tcp::name(static_cast<State>(i)));
    const auto n = v ? parse_u64(*v) : std::nullopt;
    if (!n) { return std::nullopt; }
    counts[i] = *n;
  }
  return counts;
}

std::optional<std::string_view> field(std::string_view line, std::string_view key) noexcept {
  while (!line.empty()) {
    const auto space = line.find(' ');
    const auto word = line.substr(0, space);
    if (word.size() > key.size() && word.starts_with(key) && word[key.size()] == '=') {
      return word.substr(key.size() + 1);
    }
    if (space == std::string_view::npos) { break; }
    line.remove_prefix(space + 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) noexcept {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) { return std::nullopt; }
  return v;
}

}  // namespace tapsrv::app
