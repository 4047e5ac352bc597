// TCP options from fuzz input, and the check that options survive encode and decode; shared by
// the option, round-trip and script targets.
#pragma once

#include <cstddef>

#include "fuzz/fuzz_input.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::fuzz {

/// A presence byte (bit 0 MSS, 1 window scale, 2 SACK permitted, 3 timestamps, bits 4-6 the
/// number of SACK blocks, at most 4), then the values of the options present, in that order.
wire::TcpOptions read_options(FuzzInput& in) noexcept;

/// `got` is what decode() made of encode(`want`), whose header took `header_len` bytes. Every
/// option must come back; SACK blocks may be cut, but only the last ones and only for room.
void require_same_options(const wire::TcpOptions& want, const wire::TcpOptions& got,
                          std::size_t header_len) noexcept;

}  // namespace tapsrv::fuzz
