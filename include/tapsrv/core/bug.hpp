// TAPSRV_BUG_IF: our own invariant violations, never the peer's doing (QUICHE's QUIC_BUG).
#pragma once

#include <cstdint>

#include "tapsrv/core/stats.hpp"

namespace tapsrv {

/// What TAPSRV_BUG_IF does when its condition holds, whatever NDEBUG says: a peer that can
/// reach one of our inconsistencies must not be able to crash the shipped binary.
enum class BugPolicy : std::uint8_t {
  Count,  // the default (tapsrv itself): count internal_bug, report the site once, go on
  Abort,  // unit tests and fuzzers (their mains set it): print the site and abort
};
void set_bug_policy(BugPolicy p) noexcept;
[[nodiscard]] BugPolicy bug_policy() noexcept;

/// Told of the first bug at each site under BugPolicy::Count; the app logs it. The strings are
/// literals. The default writes one line to stderr.
using BugReporter = void (*)(const char* expr, const char* file, int line);
void set_bug_reporter(BugReporter r) noexcept;

namespace detail {
/// Always returns true; `reported` is the site's own flag, so each site reports once.
bool on_bug(const char* expr, const char* file, int line, Stats& stats, bool& reported) noexcept;
}  // namespace detail

}  // namespace tapsrv

/// True when `cond` holds. Under BugPolicy::Abort it does not return then; under Count it
/// counts Counter::InternalBug in `stats`, so the caller must still leave its state consistent
/// (a connection marks itself broken and the engine resets it).
#define TAPSRV_BUG_IF(cond, stats)                                       \
  ((cond) ? ::tapsrv::detail::on_bug(#cond, __FILE__, __LINE__, (stats), \
                                     []() noexcept -> bool& {            \
                                       static bool reported = false;     \
                                       return reported;                  \
                                     }())                                \
          : false)
