#include "app/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>
#include <tuple>

#include "app/mem_limit.hpp"
#include "tapsrv/tcp/config.hpp"

namespace tapsrv::app {
namespace {

using wire::Ipv4Addr;
using wire::Ipv4Subnet;

std::string text_of(Ipv4Addr a) { return std::string{wire::to_text(a).view()}; }

// Shortest form: "0.5", "-1", not std::to_string's "0.500000".
std::string text_of(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) { return std::nullopt; }
  return v;
}

// An address a host may own: not 0/8, loopback, multicast, class E or the limited broadcast.
std::optional<ConfigError> check_unicast(std::string_view option, Ipv4Addr a) {
  if ((a.value >> 24) == 0 || a.is_loopback() || a.is_multicast() || (a.value >> 28) == 0xf) {
    return "invalid " + std::string{option} + " '" + text_of(a) + "': not a unicast host address";
  }
  return std::nullopt;
}

std::optional<ConfigError> check_host_in_subnet(std::string_view option, Ipv4Addr a,
                                                const Ipv4Subnet& net) {
  const std::string where = text_of(net.network()) + "/" + std::to_string(net.prefix_len);
  if (!net.contains(a)) {
    return "invalid " + std::string{option} + " '" + text_of(a) + "': outside " + where;
  }
  if (net.prefix_len < 31 && (a == net.network() || a == net.broadcast())) {
    return "invalid " + std::string{option} + " '" + text_of(a) +
           "': network or broadcast address of " + where;
  }
  return std::nullopt;
}

std::optional<PortSpec> parse_port_spec(std::string_view s) {
  PortSpec spec;
  const auto colon = s.find(':');
  const auto port = parse_number<std::uint16_t>(s.substr(0, colon));
  if (!port || *port == 0) { return std::nullopt; }
  spec.port = *port;
  if (colon == std::string_view::npos) { return spec; }
  const auto kind = service::parse_kind(s.substr(colon + 1));
  if (!kind) { return std::nullopt; }
  spec.service = *kind;
  return spec;
}

bool is_valid_ifname(std::string_view n) {
  // The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or white space.
  return !n.empty() && n.size() < 16 && n != "." && n != ".." &&
         std::none_of(n.begin(), n.end(), [](char c) {
           return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\0';
         });
}

// The default host side: the subnet's first host, or its second when that is ours.
std::optional<Ipv4Subnet> default_host_address(const Ipv4Subnet& net) {
  if (net.prefix_len >= 32) { return std::nullopt; }
  const std::uint32_t first = net.prefix_len == 31 ? net.network().value : net.network().value + 1;
  const Ipv4Addr host{net.addr.value == first ? first + 1 : first};
  return Ipv4Subnet{host, net.prefix_len};
}

}  // namespace

std::optional<Ipv4Addr> parse_ipv4(std::string_view text) {
  in_addr a{};
  // inet_pton reads a C string: an embedded NUL would end the parse early and hide the rest.
  if (text.size() > 15 || text.find('\0') != std::string_view::npos ||
      inet_pton(AF_INET, std::string{text}.c_str(), &a) != 1) {
    return std::nullopt;
  }
  return Ipv4Addr{ntohl(a.s_addr)};
}

std::optional<Ipv4Subnet> parse_ipv4_subnet(std::string_view text, std::uint8_t default_prefix) {
  const auto slash = text.find('/');
  const auto addr = parse_ipv4(text.substr(0, slash));
  if (!addr) { return std::nullopt; }
  if (slash == std::string_view::npos) { return Ipv4Subnet{*addr, default_prefix}; }
  const auto len = parse_number<std::uint8_t>(text.substr(slash + 1));
  if (!len || *len > 32) { return std::nullopt; }
  return Ipv4Subnet{*addr, *len};
}

std::optional<wire::MacAddr> parse_mac(std::string_view text) {
  if (text.size() != 17) { return std::nullopt; }
  wire::MacAddr mac;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto pair = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') { return std::nullopt; }
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(pair.data(), pair.data() + 2, v, 16);
    if (ec != std::errc{} || end != pair.data() + 2) { return std::nullopt; }
    mac.octets[i] = static_cast<std::byte>(v);
  }
  return mac;
}

wire::MacAddr mac_for(Ipv4Addr ip) noexcept {
  wire::MacAddr m;
  m.octets = {std::byte{0x02},
              std::byte{0x00},
              static_cast<std::byte>(ip.value >> 24),
              static_cast<std::byte>(ip.value >> 16),
              static_cast<std::byte>(ip.value >> 8),
              static_cast<std::byte>(ip.value)};
  return m;
}

Expected<Config, ConfigError> make_config(const Options& o) {
  Config c;
  const auto address = parse_ipv4_subnet(o.ip, 24);
  if (!address) {
    return "invalid --ip '" + o.ip + "': expected an IPv4 address with an optional /prefix (0-32)";
  }
  c.address = *address;
  if (auto err = check_unicast("--ip", c.address.addr)) { return *err; }
  if (auto err = check_host_in_subnet("--ip", c.address.addr, c.address)) { return *err; }

  if (!is_valid_ifname(o.ifname)) {
    return "invalid --ifname '" + o.ifname + "': 1 to 15 characters, no '/', ':' or spaces";
  }
  c.ifname = o.ifname;

  if (o.mac) {
    const auto mac = parse_mac(*o.mac);
    if (!mac) {
      return "invalid --mac '" + *o.mac + "': expected six hex pairs like 02:00:0a:00:00:02";
    }
    if (mac->is_multicast() || mac->is_zero()) {
      return "invalid --mac '" + *o.mac + "': must be a unicast address";
    }
    c.mac = *mac;
  } else {
    c.mac = mac_for(c.address.addr);
  }

  // Below 88 the TCP options (timestamps, SACK blocks) no longer fit beside data; see
  // tcp::Config::kMinMtu.
  const std::uint32_t mtu = o.mtu.value_or(1500);
  if (mtu < tcp::Config::kMinMtu || mtu > 65521) {
    return "invalid --mtu " + std::to_string(mtu) + ": must be between " +
           std::to_string(tcp::Config::kMinMtu) +
           " (IPv4 20 + TCP 20 + 40 bytes of options + 8 of data) and 65521";
  }
  c.mtu = static_cast<std::uint16_t>(mtu);

  c.no_config = o.no_config;
  c.offload = !o.no_offload;
  c.ecn = !o.no_ecn;
  if (o.no_config && (o.bridge || o.host_ip || o.mtu)) {
    return ConfigError{
        "--attach uses the TAP as it is: it cannot be combined with --bridge, --host-ip or "
        "--mtu"};
  }
  if (o.bridge && o.host_ip) {
    return ConfigError{
        "--bridge and --host-ip exclude each other: in bridge mode the host has no address on "
        "the TAP"};
  }
  c.bridge = o.bridge;
  if (o.host_ip) {
    const auto host = parse_ipv4_subnet(*o.host_ip, c.address.prefix_len);
    if (!host) { return "invalid --host-ip '" + *o.host_ip + "': expected an IPv4 address"; }
    if (auto err = check_unicast("--host-ip", host->addr)) { return *err; }
    if (auto err = check_host_in_subnet("--host-ip", host->addr, c.address)) { return *err; }
    if (host->addr == c.address.addr) {
      return "invalid --host-ip '" + *o.host_ip + "': that is tapsrv's own address";
    }
    c.host_address = Ipv4Subnet{host->addr, c.address.prefix_len};
  } else if (!o.no_host_ip && !o.bridge && !o.no_config) {
    c.host_address = default_host_address(c.address);
    if (!c.host_address || check_unicast("--host-ip", c.host_address->addr)) {
      return "--ip " + o.ip +
             " leaves no address for the host side; give --host-ip or "
             "--no-host-ip";
    }
  }

  if (o.gateway) {
    const auto gw = parse_ipv4(*o.gateway);
    if (!gw) { return "invalid --gateway '" + *o.gateway + "': expected an IPv4 address"; }
    if (auto err = check_unicast("--gateway", *gw)) { return *err; }
    if (auto err = check_host_in_subnet("--gateway", *gw, c.address)) { return *err; }
    if (*gw == c.address.addr) {
      return "invalid --gateway '" + *o.gateway + "': that is tapsrv's own address";
    }
    c.gateway = *gw;
  }

  std::set<std::uint16_t> seen;
  for (const auto& p : o.ports) {
    const auto spec = parse_port_spec(p);
    if (!spec) {
      return "invalid --port '" + p +
             "': expected PORT[:SERVICE], PORT 1-65535, SERVICE one of "
             "echo, discard, chargen, http";
    }
    if (!seen.insert(spec->port).second) {
      return "invalid --port '" + p + "': port " + std::to_string(spec->port) + " given twice";
    }
    c.ports.push_back(*spec);
  }

  if (o.arp_timeout == 0 || o.arp_timeout > 86400) {
    return "invalid --arp-timeout " + std::to_string(o.arp_timeout) +
           ": must be between 1 and 86400 seconds";
  }
  c.arp_timeout = o.arp_timeout;
  if (!(o.msl >= 0.001 && o.msl <= 600)) {
    return "invalid --msl " + text_of(o.msl) + ": must be between 0.001 and 600 seconds";
  }
  c.msl = std::chrono::duration_cast<Duration>(std::chrono::duration<double>{o.msl});
  if (o.max_conns == 0 || o.max_conns > 10'000'000) {
    return "invalid --max-conns " + std::to_string(o.max_conns) + ": must be 1 to 10000000";
  }
  c.max_conns = o.max_conns;
  if (o.max_time_wait > 10'000'000) {
    return "invalid --max-time-wait " + std::to_string(o.max_time_wait) + ": must be 0 to 10000000";
  }
  c.max_time_wait = o.max_time_wait;
  if (o.backlog == 0 || o.backlog > 10'000'000) {
    return "invalid --backlog " + std::to_string(o.backlog) + ": must be 1 to 10000000";
  }
  c.backlog = o.backlog;
  // At least a few segments, so that windows and SWS avoidance work; at most what a window scale
  // of 14 can still announce in full with room to spare.
  constexpr std::uint32_t kMinBuffer = 4096, kMaxBuffer = 64U << 20;
  for (const auto& [option, value] : {std::pair{"--sndbuf", o.sndbuf}, {"--rcvbuf", o.rcvbuf}}) {
    if (value < kMinBuffer || value > kMaxBuffer) {
      return "invalid " + std::string{option} + " " + std::to_string(value) +
             ": must be 4096 to 67108864 bytes";
    }
  }
  if (o.busy_poll > 1000) {
    return "invalid --busy-poll " + std::to_string(o.busy_poll) + ": must be 0 (off) to 1000 us";
  }
  c.busy_poll = std::chrono::microseconds{o.busy_poll};
  c.sndbuf = o.sndbuf;
  c.sndbuf_autotune = !o.sndbuf_given;
  c.rcvbuf = o.rcvbuf;
  if (auto limit = mem_limit_of(o.mem_limit, o.physical_memory)) {
    c.mem_limit = *limit;
  } else {
    return limit.error();
  }
  const auto cc = tcp::parse_cc_kind(o.cc);
  if (!cc) { return "invalid --cc '" + o.cc + "': one of reno, cubic, bbr"; }
  c.cc = *cc;
  for (const auto& [option, value, out] :
       {std::tuple{"--keepalive", o.keepalive, &c.keepalive},
        std::tuple{"--user-timeout", o.user_timeout, &c.user_timeout}}) {
    if (!(value >= 0 && value <= 86400)) {
      return "invalid " + std::string{option} + " " + text_of(value) +
             ": must be between 0 (off) and 86400 seconds";
    }
    if (value > 0) {
      *out = std::chrono::duration_cast<Duration>(std::chrono::duration<double>{value});
    }
  }
  if (!(o.keepalive_interval >= 0.001 && o.keepalive_interval <= 86400)) {
    return "invalid --keepalive-interval " + text_of(o.keepalive_interval) +
           ": must be between 0.001 and 86400 seconds";
  }
  c.keepalive_interval =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>{o.keepalive_interval});
  if (o.keepalive_probes < 1 || o.keepalive_probes > 127) {
    return "invalid --keepalive-probes " + std::to_string(o.keepalive_probes) +
           ": must be 1 to 127";
  }
  c.keepalive_probes = o.keepalive_probes;
  if (o.user.empty()) { return ConfigError{"invalid --user '': give a user name"}; }
  c.user = o.user;
  c.pcap = o.pcap;
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), o.log_level) == std::end(kLevels)) {
    return "invalid --log-level '" + o.log_level +
           "': one of trace, debug, info, warn, error, critical, off";
  }
  c.log_level = o.log_level;
  if (o.no_control && (o.control || o.control_group)) {
    return ConfigError{"--no-control excludes --control and --control-group"};
  }
  if (o.control && o.control->empty()) { return ConfigError{"invalid --control '': give a path"}; }
  if (o.control_group && o.control_group->empty()) {
    return ConfigError{"invalid --control-group '': give a group name"};
  }
  c.control = !o.no_control;
  c.control_path = o.control;
  c.control_group = o.control_group;
  return c;
}

}  // namespace tapsrv::app
