// --mem-limit: the bound on all connections' buffer storage (tcp::Config::memory_limit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tapsrv/core/expected.hpp"

namespace tapsrv::app {

/// "65536", "64K", "512M", "2G": bytes, with binary multiples (k, m, g too).
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);
/// Linux's tcp_mem[2] for a machine with this much memory: tcp_init_mem puts the pressure mark
/// at 1/16 of it and the hard limit at 1.5 times that, 3/32 in all.
[[nodiscard]] std::uint64_t default_mem_limit(std::uint64_t physical_memory) noexcept;
/// The validated limit: `text` if given (1 MiB up to the machine's memory), else the default.
[[nodiscard]] Expected<std::uint64_t, std::string> mem_limit_of(
    const std::optional<std::string>& text, std::uint64_t physical_memory);

}  // namespace tapsrv::app
