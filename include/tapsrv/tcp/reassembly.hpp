// Which out-of-order byte ranges beyond RCV.NXT have arrived (RFC 9293 §3.10.7.4 seventh:
// segments past RCV.NXT are held, not dropped; RFC 2018 reports them as SACK blocks).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tapsrv/wire/seq.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Holds disjoint, non-adjacent ranges as offsets from RCV.NXT; the bytes themselves live in the
/// receive ring. Bounded: at most kMaxRanges holes are tracked, which also bounds the work per
/// segment; a segment that would need more is dropped (and the peer retransmits it).
class Reassembly {
 public:
  static constexpr std::size_t kMaxRanges = 32;

  /// Records [off, off + len). Returns false when it would exceed kMaxRanges.
  bool add(std::uint32_t off, std::uint32_t len);
  /// RCV.NXT moved forward by `n`: returns how many further bytes are now contiguous from the
  /// new RCV.NXT and removes them.
  std::uint32_t advance(std::uint32_t n);
  [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
  /// How many ranges are held: the SACK blocks there are to report.
  [[nodiscard]] std::size_t size() const noexcept { return ranges_.size(); }
  /// Up to `max` SACK blocks, the most recently added first (RFC 2018 §4).
  std::uint8_t sack_blocks(wire::SeqNum rcv_nxt, std::array<wire::SackBlock, 4>& out,
                           std::size_t max) const noexcept;

 private:
  struct Range {
    std::uint32_t begin;
    std::uint32_t end;
    std::uint64_t stamp;  // insertion order, for SACK block order
  };
  std::vector<Range> ranges_;  // sorted by begin
  std::uint64_t next_stamp_ = 0;
};

}  // namespace tapsrv::tcp
