// `tapsrv up --config FILE`: up's options from a TOML file whose keys are the long option names
// (ip = "10.0.0.2/24", port = ["3333", "8080:http"], no-ecn = true). CLI11 2.1 reads TOML but
// only maps top-level keys to the main command, so the file is turned into arguments placed
// before the command line's own: an option given on the command line replaces the file's.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tapsrv/core/expected.hpp"

namespace tapsrv::app {

/// `args` (argv without argv[0]) with the up subcommand's `--config FILE` (or --config=FILE)
/// replaced by the file's options; unchanged without --config. The error is one line naming the
/// file: unreadable, bad TOML, a section, or a key that is no option of `up`.
[[nodiscard]] Expected<std::vector<std::string>, std::string> expand_config_file(
    std::vector<std::string> args, const CLI::App& up);

}  // namespace tapsrv::app
