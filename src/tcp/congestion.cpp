// Names and construction of the congestion controllers (Linux tcp_cong.c's registry, reduced
// to a switch).
#include "tapsrv/tcp/congestion.hpp"

#include "tapsrv/tcp/cc_bbr.hpp"
#include "tapsrv/tcp/cc_cubic.hpp"
#include "tapsrv/tcp/cc_reno.hpp"

namespace tapsrv::tcp {

std::optional<CcKind> parse_cc_kind(std::string_view name) noexcept {
  for (const CcKind k : {CcKind::Reno, CcKind::Cubic, CcKind::Bbr}) {
    if (tcp::name(k) == name) { return k; }
  }
  return std::nullopt;
}

std::string_view name(CcKind kind) noexcept {
  switch (kind) {  // the names of Linux's net.ipv4.tcp_congestion_control
    case CcKind::Reno: return "reno";
    case CcKind::Cubic: return "cubic";
    case CcKind::Bbr: return "bbr";
  }
  return "?";  // unreachable: the switch covers every kind, and -Wswitch keeps it so
}

std::unique_ptr<CongestionControl> make_congestion_control(CcKind kind, std::uint32_t mss,
                                                           std::uint32_t initial_cwnd,
                                                           std::uint64_t seed) {
  switch (kind) {
    case CcKind::Reno: return std::make_unique<RenoCc>(mss, initial_cwnd);
    case CcKind::Cubic: return std::make_unique<CubicCc>(mss, initial_cwnd);
    case CcKind::Bbr: return std::make_unique<BbrCc>(mss, initial_cwnd, BbrParams{.seed = seed});
  }
  return nullptr;  // unreachable, as in name()
}

}  // namespace tapsrv::tcp
