// `tapsrv status` output: a table like `ss -tin` (one row per connection, then the listeners
// and counts by state) or one JSON document, both written as the rows arrive.
#pragma once

#include <string>
#include <vector>

#include "app/control_protocol.hpp"
#include "tapsrv/tcp/connection_info.hpp"

namespace tapsrv::app {

struct ListenerEntry {
  std::string local;    // "10.0.0.2:3333"
  std::string service;  // "echo"
};

/// The table's column titles, newline included.
[[nodiscard]] std::string table_header();
/// One connection: state, queues, addresses, then ss-style details ("mss:1448 wscale:7,10
/// sack ts ... rtt:0.120/0.060 ms ..."), newline included.
[[nodiscard]] std::string table_row(const tcp::ConnectionInfo& c);
/// The listeners, and "N connections: ESTABLISHED 2, TIME_WAIT 1" (states with none left
/// out), each line with its newline.
[[nodiscard]] std::string table_footer(const std::vector<ListenerEntry>& listeners,
                                       const StateCounts& counts);

/// `{"version": ..., "interface": ..., "listeners": [...], "connections": [` — the rows and
/// json_end() follow.
[[nodiscard]] std::string json_begin(std::string_view version, std::string_view interface,
                                     const std::vector<ListenerEntry>& listeners);
/// One element of "connections"; `first` leaves out the separating comma.
[[nodiscard]] std::string json_connection(const tcp::ConnectionInfo& c, bool first);
[[nodiscard]] std::string json_end();

}  // namespace tapsrv::app
