// The subcommands of tapsrv-loadgen. Each prints one line "result NAME key=value ..." on stdout
// and returns the exit status; any error or verification failure ends in a non-zero status.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

namespace loadgen {

// With `limit_s`, a transfer still running after that many seconds stops and reports the bytes
// it moved so far with finished=0 (exit status 0); only errors and wrong bytes fail.
int upload(const sockaddr_in& to, std::uint64_t bytes, std::optional<std::uint64_t> limit_s);
int download(const sockaddr_in& to, std::uint64_t bytes, std::optional<std::uint64_t> limit_s);
int echo(const sockaddr_in& to, std::uint64_t bytes);
int conns(const sockaddr_in& to, std::uint64_t count, unsigned concurrency);
int latency(const sockaddr_in& to, std::uint64_t count);
int hold(const sockaddr_in& to, std::uint64_t count, const std::optional<std::string>& src_prefix);

}  // namespace loadgen
