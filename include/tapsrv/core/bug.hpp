// TAPSRV_BUG_IF: our own invariant violations, never the peer's doing (QUICHE's QUIC_BUG).
#pragma once

#include <cstdlib>

#include "tapsrv/core/stats.hpp"

namespace tapsrv::detail {
[[noreturn]] void bug_abort(const char* expr, const char* file, int line) noexcept;
}  // namespace tapsrv::detail

/// Debug and fuzz builds abort; release builds count Counter::InternalBug in `stats` and go on,
/// so the caller must still leave its state consistent when `cond` holds.
#ifdef NDEBUG
#define TAPSRV_BUG_IF(cond, stats) \
  ((cond) ? ((stats).add(::tapsrv::Counter::InternalBug), true) : false)
#else
#define TAPSRV_BUG_IF(cond, stats) \
  ((cond) ? (::tapsrv::detail::bug_abort(#cond, __FILE__, __LINE__), true) : false)
#endif
