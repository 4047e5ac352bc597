#include "tapsrv/io/netlink_link.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include <system_error>

namespace tapsrv::io {
namespace {

struct LinkDeleter {
  void operator()(rtnl_link* l) const noexcept { rtnl_link_put(l); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* a) const noexcept { rtnl_addr_put(a); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* a) const noexcept { nl_addr_put(a); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

// libnl returns negative NLE_* codes; map the ones a person can act on to errno values.
constexpr unsigned kTxQueueLen = 10000;

[[noreturn]] void fail(int nl_err, const std::string& what) {
  const int code = -nl_err;
  if (code == NLE_PERM) {
    throw std::system_error(EPERM, std::generic_category(),
                            what + " needs CAP_NET_ADMIN (run as root)");
  }
  throw std::system_error(EIO, std::generic_category(), what + ": " + nl_geterror(nl_err));
}

LinkPtr get_link(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  const int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) { return nullptr; }
  if (err < 0) { fail(err, "looking up interface " + name); }
  return LinkPtr{raw};
}

}  // namespace

void Netlink::SockDeleter::operator()(nl_sock* s) const noexcept { nl_socket_free(s); }

Netlink::Netlink() : sock_{nl_socket_alloc()} {
  if (!sock_) { throw std::system_error(ENOMEM, std::generic_category(), "nl_socket_alloc"); }
  if (const int err = nl_connect(sock_.get(), NETLINK_ROUTE); err < 0) {
    fail(err, "connecting to rtnetlink");
  }
}

Netlink::~Netlink() = default;

std::optional<Netlink::LinkInfo> Netlink::find_link(const std::string& name) {
  const auto link = get_link(sock_.get(), name);
  if (!link) { return std::nullopt; }
  const char* kind = rtnl_link_get_type(link.get());
  return LinkInfo{.index = rtnl_link_get_ifindex(link.get()),
                  .mtu = rtnl_link_get_mtu(link.get()),
                  .kind = kind != nullptr ? kind : ""};
}

void Netlink::configure_link(const std::string& name, std::uint32_t mtu,
                             std::optional<int> master_index) {
  const auto link = get_link(sock_.get(), name);
  if (!link) { fail(-NLE_NODEV, "configuring interface " + name); }
  const LinkPtr change{rtnl_link_alloc()};
  if (!change) { throw std::system_error(ENOMEM, std::generic_category(), "rtnl_link_alloc"); }
  rtnl_link_set_mtu(change.get(), mtu);
  // The TAP's queue towards us is tx_queue_len frames deep (1000 by default); a burst of
  // connects or closes from thousands of clients overflows it while we are busy, and every
  // dropped frame costs the peer a 200 ms timeout. Virtio rings are deep for the same reason.
  rtnl_link_set_txqlen(change.get(), kTxQueueLen);
  if (master_index) { rtnl_link_set_master(change.get(), *master_index); }
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int err = rtnl_link_change(sock_.get(), link.get(), change.get(), 0); err < 0) {
    fail(err, "configuring interface " + name);
  }
}

void Netlink::add_address(const std::string& name, wire::Ipv4Subnet address) {
  const auto link = get_link(sock_.get(), name);
  if (!link) { fail(-NLE_NODEV, "adding an address to " + name); }
  const std::unique_ptr<rtnl_addr, AddrDeleter> addr{rtnl_addr_alloc()};
  const std::uint32_t be = htonl(address.addr.value);
  const std::unique_ptr<nl_addr, NlAddrDeleter> local{nl_addr_build(AF_INET, &be, sizeof be)};
  if (!addr || !local) {
    throw std::system_error(ENOMEM, std::generic_category(), "rtnl_addr_alloc");
  }
  nl_addr_set_prefixlen(local.get(), address.prefix_len);
  rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link.get()));
  if (const int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) {
    fail(err, "adding an address to " + name);
  }
  if (const int err = rtnl_addr_add(sock_.get(), addr.get(), 0); err < 0) {
    fail(err, "adding an address to " + name);
  }
}

}  // namespace tapsrv::io
