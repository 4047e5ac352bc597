// The control socket's Unix-domain plumbing: the listening socket with its file (mode, group,
// stale-file replacement), non-blocking accept, the peer's credentials (SO_PEERCRED,
// SO_PEERGROUPS), and the client's connect. What is said over it lives in app/.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tapsrv/io/unique_fd.hpp"

namespace tapsrv::io {

/// Who is at the other end of a connected Unix socket, as the kernel recorded it at connect().
struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (SO_PEERGROUPS)
  /// uid 0, `self` (tapsrv's own uid), or a member of `group` (primary or supplementary).
  [[nodiscard]] bool may_control(uid_t self, gid_t group) const noexcept;
};

class ControlListener {
 public:
  /// Binds a non-blocking SOCK_STREAM socket at `path`, mode 0660, group `group` (created with
  /// setfsgid, so root needs CAP_SETGID and not CAP_CHOWN). A socket file nobody answers on
  /// is replaced; one a process still listens on, or a file of another kind, is an error.
  /// Throws std::system_error with a one-line message naming `path`.
  static ControlListener open(const std::string& path, gid_t group);
  ControlListener(ControlListener&&) noexcept = default;
  ControlListener& operator=(ControlListener&&) noexcept = default;
  ~ControlListener();

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// A waiting connection, non-blocking and close-on-exec; an invalid fd when none waits.
  [[nodiscard]] UniqueFd accept() noexcept;
  /// Removes the socket file (also done on destruction); false with errno when that fails,
  /// e.g. after privileges were dropped and the directory belongs to root.
  bool remove() noexcept;

 private:
  ControlListener(UniqueFd fd, std::string path) noexcept
      : fd_{std::move(fd)}, path_{std::move(path)} {}
  UniqueFd fd_;
  std::string path_;  // empty once removed
};

/// Before privileges are dropped: a child process that keeps only root's uid (no capabilities)
/// to remove the socket file at `path` once this process has ended, however it ended (the
/// returned pipe's write end closes with it, even on SIGKILL): a tapsrv that became nobody
/// cannot unlink in root's /run/tapsrv itself. The child leaves a file that is no longer
/// the one found at `path` now alone (another tapsrv's, started meanwhile). Throws
/// std::system_error. Keep the returned descriptor open for the process's lifetime.
[[nodiscard]] UniqueFd remove_after_exit(const std::string& path);

/// SO_PEERCRED and SO_PEERGROUPS of a connected Unix socket; nullopt when the kernel says no.
[[nodiscard]] std::optional<PeerCred> peer_credentials(int fd) noexcept;

/// Connects a blocking SOCK_STREAM socket to `path`, with `timeout_ms` for every later read
/// and write (SO_RCVTIMEO, SO_SNDTIMEO). On failure, an invalid fd and errno.
[[nodiscard]] UniqueFd connect_control(const std::string& path, int timeout_ms) noexcept;

/// Non-blocking read and write: bytes moved, 0 for end of file (read) or a full socket
/// (write, when `would_block` is set), -1 with errno on an error.
struct IoResult {
  long n = 0;
  bool would_block = false;
};
[[nodiscard]] IoResult read_some(int fd, std::span<char> buf) noexcept;
[[nodiscard]] IoResult write_some(int fd, std::span<const char> buf) noexcept;

/// The names ending in ".sock" in directory `dir`, sorted; empty when it cannot be read.
[[nodiscard]] std::vector<std::string> list_sockets(const std::string& dir);

}  // namespace tapsrv::io
