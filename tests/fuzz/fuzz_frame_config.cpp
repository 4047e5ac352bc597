// The whole stack under the settings fuzz_frame never uses: MTUs from the lowest --mtu allows to
// jumbo frames, TSO and partial checksums on what it sends, trusted checksums on what it gets.
//
// Input: a config byte (bits 0-2 an MTU from kMtus, bit 3 offload on transmit, bit 4 every
// received frame has RxOffload{checksum_trusted}; bits 5-7 unused), then fuzz_frame's chunks.
#include <array>

#include "fuzz/runs.hpp"
#include "fuzz/targets.hpp"
#include "tapsrv/tcp/config.hpp"

namespace tapsrv::fuzz {

namespace {

// The lowest MTU src/app/config.cpp accepts for --mtu. It has no named constant yet, only the
// literal 68 (RFC 791's minimum); once tcp::Config::kMinMtu exists (the small-MTU fix for #10
// names it there) this picks it up, so the table follows --mtu's floor without an edit here.
template <class C>
constexpr std::uint16_t lowest_mtu() noexcept {
  if constexpr (requires { C::kMinMtu; }) {
    return static_cast<std::uint16_t>(C::kMinMtu);
  } else {
    return 68;
  }
}
constexpr std::uint16_t kLowestMtu = lowest_mtu<tcp::Config>();

// The floor and just above it (where options crowd out the payload), IPv4's 576, IPv6's 1280,
// Ethernet's 1500, and jumbo frames up to 9000.
constexpr std::array<std::uint16_t, 8> kMtus{
    kLowestMtu, kLowestMtu + 4, kLowestMtu + 20, 576, 1280, 1500, 4000, 9000,
};

}  // namespace

RunSummary run_frames_config(const std::uint8_t* data, std::size_t size) {
  FuzzInput in{data, size};
  const std::uint8_t config = in.u8();
  const FrameSetup setup{.mtu = kMtus[config & 0x07U],
                         .tx_offload = (config & 0x08U) != 0,
                         .rx_trusted = (config & 0x10U) != 0};
  return run_frame_chunks(in, setup);
}

int fuzz_frame_config(const std::uint8_t* data, std::size_t size) {
  run_frames_config(data, size);
  return 0;
}

}  // namespace tapsrv::fuzz
