// Work a frame leaves to the device, in the terms of virtio-net's header (virtio spec §5.1.6),
// which is what a TAP opened with IFF_VNET_HDR speaks. In core, free of Linux headers, so that the
// pure layers can ask for offloads and the io layer alone translates them to the kernel's struct.
#pragma once

#include <cstdint>

namespace tapsrv {

/// For a frame we send.
struct TxOffload {
  /// Non-zero: the frame is one TCP segment whose payload the device cuts into pieces of this
  /// many bytes (TSO), copying the headers onto each.
  std::uint16_t gso_size = 0;
  /// The L4 checksum field holds only the pseudo-header sum: the device sums from csum_start
  /// to the end of the frame and stores the result at csum_start + csum_offset.
  bool partial_checksum = false;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  /// With gso_size: the segment carries CWR, which only the first piece may keep (virtio's
  /// GSO_ECN, Linux's SKB_GSO_TCP_ECN; RFC 3168 §6.1.2 asks for CWR once per reduction).
  bool gso_ecn = false;
  friend constexpr bool operator==(TxOffload, TxOffload) noexcept = default;
};

/// For a frame we receive.
struct RxOffload {
  /// The sender (the local kernel) vouches for the L4 checksum, either because it checked it or
  /// because the packet never left the host and was never summed (CHECKSUM_PARTIAL).
  bool checksum_trusted = false;
};

}  // namespace tapsrv
