// Dropping root once the TAP is configured, so a bug in the packet path cannot touch the host.
#pragma once

#include <string>

namespace tapsrv::io {

/// When running as root: switch to `user` (its uid, gid and supplementary groups), which
/// clears every capability, and forbid regaining privileges (PR_SET_NO_NEW_PRIVS). Does
/// nothing when not root or when `user` is "root". Throws std::system_error, naming the step.
void drop_privileges(const std::string& user);

/// The effective capability set of this process, as /proc/self/status prints it (CapEff).
[[nodiscard]] std::string effective_capabilities();

}  // namespace tapsrv::io
