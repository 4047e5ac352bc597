// A TAP device (Documentation/networking/tuntap.rst): Ethernet frames through a file descriptor.
#pragma once

#include <cstddef>
#include <string>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/io/unique_fd.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::io {

class TapDevice {
 public:
  /// Opens /dev/net/tun and attaches to the TAP `name`, creating it when it does not exist
  /// (which needs CAP_NET_ADMIN). A TAP created here is not persistent: the kernel removes it
  /// when this object closes the descriptor. The descriptor is non-blocking.
  /// Throws std::system_error with a message that names the interface and the remedy.
  /// With `offload`, every frame carries a virtio-net header (IFF_VNET_HDR) and the kernel is
  /// told we take and give unsummed and unsegmented TCP (TUNSETOFFLOAD): it then hands us, and
  /// accepts from us, segments of up to 64 KiB.
  static TapDevice open(const std::string& name, bool offload);

  /// Result of one read: `len` bytes, or none available now (`would_block`), or `error` (errno).
  struct ReadResult {
    std::size_t len = 0;
    bool would_block = false;
    int error = 0;
    RxOffload offload{};
  };
  /// Reads one frame into `buf`, which should hold kMaxFrame bytes.
  [[nodiscard]] ReadResult read(wire::MutBytes buf) noexcept;
  /// Writes one frame; returns 0 or the errno of a failed write.
  [[nodiscard]] int write(wire::Bytes frame, TxOffload offload = {}) noexcept;

  /// The largest frame a read can return: a 64 KiB segment the kernel did not cut, with its
  /// Ethernet header (and room to spare, since a truncated read would lose data silently).
  static constexpr std::size_t kMaxFrame = 128 * 1024;

  [[nodiscard]] bool offload() const noexcept { return offload_; }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  TapDevice(UniqueFd fd, std::string name, bool offload) noexcept
      : fd_{std::move(fd)}, name_{std::move(name)}, offload_{offload} {}
  UniqueFd fd_;
  std::string name_;
  bool offload_;
};

}  // namespace tapsrv::io
