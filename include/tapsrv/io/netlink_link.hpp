// Link and address configuration over rtnetlink, through libnl-route-3.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tapsrv/wire/addresses.hpp"

struct nl_sock;

namespace tapsrv::io {

/// A connected NETLINK_ROUTE socket. Every method throws std::system_error on failure, with a
/// message naming the interface and, for permission errors, the capability needed.
class Netlink {
 public:
  Netlink();
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  struct LinkInfo {
    int index = 0;
    std::uint32_t mtu = 0;
    std::string kind;  // IFLA_INFO_KIND: "bridge", "tun", "veth", ... or empty
  };
  /// The interface called `name`, or nullopt when there is none. Needs no privilege.
  [[nodiscard]] std::optional<LinkInfo> find_link(const std::string& name);

  /// Sets the MTU and a deep transmit queue, enslaves to `master_index` when given, and brings
  /// the link up, in one request (RTM_NEWLINK, as `ip link set` sends).
  void configure_link(const std::string& name, std::uint32_t mtu, std::optional<int> master_index);
  /// Adds `address` (with its prefix, so the kernel adds the on-link route) to `name`.
  void add_address(const std::string& name, wire::Ipv4Subnet address);

 private:
  struct SockDeleter {
    void operator()(nl_sock* s) const noexcept;
  };
  std::unique_ptr<nl_sock, SockDeleter> sock_;
};

}  // namespace tapsrv::io
