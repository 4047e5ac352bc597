// SIGINT and SIGTERM as a readable descriptor, so the event loop waits on signals like on frames.
#pragma once

#include "tapsrv/io/unique_fd.hpp"

namespace tapsrv::io {

class SignalFd {
 public:
  /// Blocks SIGINT and SIGTERM for the calling thread and opens a non-blocking signalfd for
  /// them. Construct before starting any thread. Throws std::system_error.
  SignalFd();
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// The pending signal's number, or 0 when none is pending.
  [[nodiscard]] int take() noexcept;

 private:
  UniqueFd fd_;
};

}  // namespace tapsrv::io
