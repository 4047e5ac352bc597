// `tapsrv status` and `tapsrv stats`: ask a running tapsrv over its control socket and print
// the answer. Exit status 0, or 1 with one line on stderr when no tapsrv answers, access is
// refused or the answer is malformed.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "tapsrv/tcp/state.hpp"

namespace tapsrv::app {

struct ClientOptions {
  std::optional<std::string> ifname;   // -i
  std::optional<std::string> control;  // --control PATH
  bool json = false;                   // -j
  bool prometheus = false;             // stats --prometheus
  std::optional<tcp::State> state;     // status --state
};

[[nodiscard]] int run_status(const ClientOptions& o, std::FILE* out);
[[nodiscard]] int run_stats(const ClientOptions& o, std::FILE* out);

}  // namespace tapsrv::app
