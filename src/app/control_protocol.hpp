// What tapsrv and its `status`/`stats` subcommands say over the control socket: one request
// line, then lines of space-separated words, the last one "end". Values never hold spaces.
//   request:  "status" ["STATE"] | "stats"
//   answer:   "tapsrv-control 1 version=V interface=IF"
//             "listener local=A:P service=S" ...  "conn state=S local=A:P peer=A:P k=v ..." ...
//             "summary STATE=N ..."   or   "counter NAME N" ... "drop NAME N" ...
//             "end";  or at any point "error MESSAGE" and the connection closes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tapsrv/tcp/connection_info.hpp"

namespace tapsrv::app {

inline constexpr std::string_view kControlHello = "tapsrv-control 1";
inline constexpr std::size_t kStateCount = 11;  // tcp::State's enumerators

/// "established", "Close_Wait", "close-wait" → the state; nullopt for anything else.
[[nodiscard]] std::optional<tcp::State> parse_state_name(std::string_view text) noexcept;

struct Request {
  enum class Kind : std::uint8_t { Status, Stats } kind = Kind::Status;
  std::optional<tcp::State> state;  // status only: list only connections in this state
};
/// One request line without its newline; nullopt when it is none of the above.
[[nodiscard]] std::optional<Request> parse_request(std::string_view line) noexcept;
[[nodiscard]] std::string request_line(const Request& r);  // with the newline

/// "10.0.0.2:3333" (IPv6 will read "[addr]:port").
[[nodiscard]] std::string endpoint_text(wire::Ipv4Addr ip, std::uint16_t port);

/// The "conn ..." line for `c`, newline included (append to `out`).
void append_conn_line(std::string& out, const tcp::ConnectionInfo& c);
/// The line after "conn " back into figures (durations at the line's resolution: srtt and
/// rttvar in µs, rto, age and state time in ms); nullopt when a field is missing or bad.
[[nodiscard]] std::optional<tcp::ConnectionInfo> parse_conn_line(std::string_view rest) noexcept;

/// Counts of connections by state, indexed by tcp::State.
using StateCounts = std::array<std::uint64_t, kStateCount>;
void append_summary_line(std::string& out, const StateCounts& counts);
[[nodiscard]] std::optional<StateCounts> parse_summary_line(std::string_view rest) noexcept;

/// The value of `key=` among the space-separated words of `line`, if present.
[[nodiscard]] std::optional<std::string_view> field(std::string_view line,
                                                    std::string_view key) noexcept;
/// A whole string of decimal digits.
[[nodiscard]] std::optional<std::uint64_t> parse_u64(std::string_view s) noexcept;

}  // namespace tapsrv::app
