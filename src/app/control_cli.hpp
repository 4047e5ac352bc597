// The `status` and `stats` subcommands on the command line (CLI11).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "app/control_client.hpp"

namespace tapsrv::app {

struct ClientCli {
  CLI::App* status = nullptr;
  CLI::App* stats = nullptr;
  ClientOptions options;
  std::optional<std::string> state;  // --state, checked by run_client
};

void add_client_subcommands(CLI::App& cli, ClientCli& c);
/// Runs the subcommand that was parsed: 0, 1 (no answer, refused, malformed) or 2 (usage).
[[nodiscard]] int run_client(ClientCli& c);

}  // namespace tapsrv::app
