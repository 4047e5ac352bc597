#include "app/setup.hpp"

#include <cerrno>
#include <system_error>

#include "tapsrv/io/netlink_link.hpp"
#include "tapsrv/tcp/config.hpp"

namespace tapsrv::app {
namespace {

[[noreturn]] void refuse(int err, const std::string& message) {
  throw std::system_error(err, std::generic_category(), message);
}

io::TapDevice attach_existing(Config& cfg, io::Netlink& nl) {
  const auto link = nl.find_link(cfg.ifname);
  if (!link) {
    refuse(ENODEV, "--attach: there is no interface " + cfg.ifname +
                       " (create one with: ip tuntap add dev " + cfg.ifname +
                       " mode tap user $USER)");
  }
  if (link->kind != "tun") { refuse(EINVAL, "--attach: " + cfg.ifname + " is not a TAP device"); }
  // The floor --mtu has (tcp::Config::kMinMtu): below it TCP's options leave no room for data.
  if (link->mtu < tcp::Config::kMinMtu || link->mtu > 0xffff) {
    refuse(EINVAL, "--attach: " + cfg.ifname + " has MTU " + std::to_string(link->mtu) +
                       ", tapsrv needs " + std::to_string(tcp::Config::kMinMtu) + " to 65535");
  }
  auto tap = io::TapDevice::open(cfg.ifname, cfg.offload);
  cfg.mtu = static_cast<std::uint16_t>(link->mtu);
  return tap;
}

}  // namespace

io::TapDevice bring_up(Config& cfg) {
  io::Netlink nl;
  if (cfg.no_config) { return attach_existing(cfg, nl); }

  if (nl.find_link(cfg.ifname)) {
    refuse(EEXIST, "interface " + cfg.ifname +
                       " already exists (choose another --ifname, or attach to a persistent TAP "
                       "with --attach)");
  }
  std::optional<int> master;
  if (cfg.bridge) {
    const auto bridge = nl.find_link(*cfg.bridge);
    if (!bridge) { refuse(ENODEV, "bridge " + *cfg.bridge + " does not exist"); }
    if (bridge->kind != "bridge") {
      refuse(EINVAL, *cfg.bridge + " is not a bridge (it is a " +
                         (bridge->kind.empty() ? std::string{"plain device"} : bridge->kind) + ")");
    }
    master = bridge->index;
  }
  auto tap = io::TapDevice::open(cfg.ifname, cfg.offload);
  nl.configure_link(tap.name(), cfg.mtu, master);
  if (cfg.host_address) { nl.add_address(tap.name(), *cfg.host_address); }
  return tap;
}

}  // namespace tapsrv::app
