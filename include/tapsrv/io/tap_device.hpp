// A TAP device (Documentation/networking/tuntap.rst): Ethernet frames through a file descriptor.
#pragma once

#include <cstddef>
#include <string>

#include "tapsrv/io/unique_fd.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::io {

class TapDevice {
 public:
  /// Opens /dev/net/tun and attaches to the TAP `name`, creating it when it does not exist
  /// (which needs CAP_NET_ADMIN). A TAP created here is not persistent: the kernel removes it
  /// when this object closes the descriptor. The descriptor is non-blocking.
  /// Throws std::system_error with a message that names the interface and the remedy.
  static TapDevice open(const std::string& name);

  /// Result of one read: `len` bytes, or none available now (`would_block`), or `error` (errno).
  struct ReadResult {
    std::size_t len = 0;
    bool would_block = false;
    int error = 0;
  };
  /// Reads one frame into `buf`, which should hold the MTU plus the Ethernet header.
  [[nodiscard]] ReadResult read(wire::MutBytes buf) noexcept;
  /// Writes one frame; returns 0 or the errno of a failed write.
  [[nodiscard]] int write(wire::Bytes frame) noexcept;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  TapDevice(UniqueFd fd, std::string name) noexcept : fd_{std::move(fd)}, name_{std::move(name)} {}
  UniqueFd fd_;
  std::string name_;
};

}  // namespace tapsrv::io
