// The subcommands of tapsrv-loadgen. Each prints one line "result NAME key=value ..." on stdout
// and returns the exit status; any error or verification failure ends in a non-zero status.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

namespace loadgen {

int upload(const sockaddr_in& to, std::uint64_t bytes);
int download(const sockaddr_in& to, std::uint64_t bytes);
int echo(const sockaddr_in& to, std::uint64_t bytes);
int conns(const sockaddr_in& to, std::uint64_t count, unsigned concurrency);
int latency(const sockaddr_in& to, std::uint64_t count);
int hold(const sockaddr_in& to, std::uint64_t count, const std::optional<std::string>& src_prefix);

}  // namespace loadgen
