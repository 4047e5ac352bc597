#include "tapsrv/io/tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace tapsrv::io {

TapDevice TapDevice::open(const std::string& name) {
  UniqueFd fd{::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)};
  if (!fd.valid()) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      throw std::system_error(err, std::generic_category(),
                              "cannot open /dev/net/tun: a TAP needs CAP_NET_ADMIN (run as "
                              "root), or read-write access to /dev/net/tun for --no-config");
    }
    throw std::system_error(err, std::generic_category(),
                            "cannot open /dev/net/tun (is the tun module loaded?)");
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    if (err == EPERM || err == EACCES) {
      throw std::system_error(err, std::generic_category(),
                              "attaching to TAP " + name +
                                  " needs CAP_NET_ADMIN (run as root), or a persistent TAP "
                                  "owned by this user with --no-config");
    }
    throw std::system_error(err, std::generic_category(), "TUNSETIFF on " + name);
  }
  return TapDevice{std::move(fd), ifr.ifr_name};
}

TapDevice::ReadResult TapDevice::read(wire::MutBytes buf) noexcept {
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n >= 0) { return {.len = static_cast<std::size_t>(n)}; }
    if (errno == EINTR) { continue; }
    if (errno == EAGAIN) { return {.would_block = true}; }
    return {.error = errno};
  }
}

int TapDevice::write(wire::Bytes frame) noexcept {
  for (;;) {
    const ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
    if (n >= 0) { return 0; }
    if (errno != EINTR) { return errno; }
  }
}

}  // namespace tapsrv::io
