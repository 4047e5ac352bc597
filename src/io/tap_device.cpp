#include "tapsrv/io/tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace tapsrv::io {

namespace {

// struct virtio_net_hdr (virtio spec §5.1.6), declared here because <linux/virtio_net.h> does
// not compile as C++ (a member is named `class`). Native byte order: a TAP's default on a
// little-endian host, where legacy and virtio 1.0 agree.
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
static_assert(std::endian::native == std::endian::little, "the TAP's header is little-endian");
constexpr std::uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr std::uint8_t kDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
constexpr std::uint8_t kGsoTcpV4 = 1;   // VIRTIO_NET_HDR_GSO_TCPV4
constexpr std::uint8_t kGsoEcn = 0x80;  // VIRTIO_NET_HDR_GSO_ECN

// Where a TCP header keeps its length (the data offset), which GSO needs to know.
constexpr std::size_t kTcpDataOffsetByte = 12;

[[noreturn]] void throw_tunsetiff(int err, const std::string& name) {
  if (err == EPERM || err == EACCES) {
    throw std::system_error(err, std::generic_category(),
                            "attaching to TAP " + name +
                                " needs CAP_NET_ADMIN (run as root), or a persistent TAP "
                                "owned by this user with --attach");
  }
  throw std::system_error(err, std::generic_category(), "TUNSETIFF on " + name);
}

VnetHeader tx_header(wire::Bytes frame, TxOffload o) noexcept {
  VnetHeader h{};
  if (o.partial_checksum) {
    h.flags = kNeedsCsum;
    h.csum_start = o.csum_start;
    h.csum_offset = o.csum_offset;
  }
  if (o.gso_size != 0 && o.csum_start + kTcpDataOffsetByte < frame.size()) {
    const auto tcp_header_len = static_cast<std::uint16_t>(
        (std::to_integer<unsigned>(frame[o.csum_start + kTcpDataOffsetByte]) >> 4) * 4);
    // virtio_net_hdr_to_skb turns GSO_ECN into SKB_GSO_TCP_ECN: the segment has CWR set, and
    // tcp_gso_segment (or a device with NETIF_F_TSO_ECN) keeps it on the first piece only.
    h.gso_type = static_cast<std::uint8_t>(kGsoTcpV4 | (o.gso_ecn ? kGsoEcn : 0));
    h.gso_size = o.gso_size;
    h.hdr_len = static_cast<std::uint16_t>(o.csum_start + tcp_header_len);
  }
  return h;
}

}  // namespace

TapDevice TapDevice::open(const std::string& name, bool offload) {
  UniqueFd fd{::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)};
  if (!fd.valid()) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      throw std::system_error(err, std::generic_category(),
                              "cannot open /dev/net/tun: a TAP needs CAP_NET_ADMIN (run as "
                              "root), or read-write access to /dev/net/tun for --attach");
    }
    throw std::system_error(err, std::generic_category(),
                            "cannot open /dev/net/tun (is the tun module loaded?)");
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0));
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) { throw_tunsetiff(errno, name); }
  if (offload) {
    // TUN_F_TSO_ECN lets the kernel hand us uncut segments with CWR too (its tun set_offload
    // turns it into NETIF_F_TSO_ECN); without it, it cuts them first. Taking them whole is
    // right: CWR means one thing once, as it does for a GRO'd segment in Linux's receiver.
    // Our own TSO frames with CWR need no feature: tun takes GSO_ECN from us regardless.
    const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (::ioctl(fd.get(), TUNSETOFFLOAD, features) < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "TUNSETOFFLOAD on " + name + " (try --no-offload)");
    }
  }
  return TapDevice{std::move(fd), ifr.ifr_name, offload};
}

TapDevice::ReadResult TapDevice::read(wire::MutBytes buf) noexcept {
  VnetHeader h{};
  iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h},
                  {.iov_base = buf.data(), .iov_len = buf.size()}};
  const int first = offload_ ? 0 : 1;
  for (;;) {
    const ssize_t n = ::readv(fd_.get(), iov + first, 2 - first);
    if (n >= 0) {
      const std::size_t header = offload_ ? sizeof h : 0;
      if (static_cast<std::size_t>(n) < header) { return {.len = 0}; }
      // Checked by the kernel, or never summed because it never left this host.
      const bool trusted = (h.flags & (kNeedsCsum | kDataValid)) != 0;
      return {.len = static_cast<std::size_t>(n) - header,
              .offload = {.checksum_trusted = trusted}};
    }
    if (errno == EINTR) { continue; }
    if (errno == EAGAIN) { return {.would_block = true}; }
    return {.error = errno};
  }
}

int TapDevice::write(wire::Bytes frame, TxOffload offload) noexcept {
  VnetHeader h = tx_header(frame, offload);
  iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h},
                  {.iov_base = const_cast<std::byte*>(frame.data()), .iov_len = frame.size()}};
  const int first = offload_ ? 0 : 1;
  for (;;) {
    if (::writev(fd_.get(), iov + first, 2 - first) >= 0) { return 0; }
    if (errno != EINTR) { return errno; }
  }
}

}  // namespace tapsrv::io
