// `tapsrv up` options, as typed (Options) and as validated (Config).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/tcp/congestion.hpp"
#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::app {

/// What the command line said, unvalidated; defaults are those of the README.
struct Options {
  std::string ip = "10.0.0.2/24";
  std::string ifname = "tapsrv0";
  std::optional<std::string> mac;
  std::optional<std::uint32_t> mtu;  // 1500, or with --attach the TAP's own
  std::optional<std::string> host_ip;
  bool no_host_ip = false;
  std::optional<std::string> bridge;
  std::optional<std::string> gateway;
  bool no_config = false;
  bool no_offload = false;
  bool no_ecn = false;
  std::vector<std::string> ports{"3333"};
  std::optional<std::string> pcap;
  std::string log_level = "info";
  std::uint32_t arp_timeout = 60;  // seconds a learned neighbour stays valid
  double msl = 30;                 // seconds; TIME_WAIT lasts twice this
  std::uint32_t max_conns = 10000;
  std::uint32_t max_time_wait = 262144;  // TIME_WAIT records (Linux tcp_max_tw_buckets)
  std::uint32_t backlog = 1024;
  std::uint32_t sndbuf = 256 * 1024;     // bytes per connection
  bool sndbuf_given = false;             // --sndbuf fixes the size: no autotuning (as SO_SNDBUF)
  std::uint32_t rcvbuf = 256 * 1024;     // bytes per connection; bounds the advertised window
  std::optional<std::string> mem_limit;  // SIZE with K/M/G; unset: derived from physical_memory
  std::uint64_t physical_memory = 0;     // bytes, read by main() (make_config stays pure)
  std::string user = "nobody";           // who to become after set-up when started as root
  double keepalive = 0;                  // seconds idle before probing; 0: off
  double keepalive_interval = 75;        // seconds between keepalive probes (tcp_keepalive_intvl)
  std::uint32_t keepalive_probes = 9;    // unanswered probes before a reset (tcp_keepalive_probes)
  double user_timeout = 0;               // seconds data may stay unacknowledged; 0: off
  std::uint32_t busy_poll = 20;          // microseconds to keep polling after frames; 0: off
  std::string cc = "cubic";              // congestion control: reno, cubic or bbr
  std::optional<std::string> control;    // control socket path; unset: /run/tapsrv/IFNAME.sock
  bool no_control = false;
  std::optional<std::string> control_group;  // who besides root may use it; unset: root
};

struct PortSpec {
  std::uint16_t port = 0;
  service::Kind service = service::Kind::Echo;
};

/// A consistent configuration: every address parsed, every combination checked.
struct Config {
  std::string ifname;
  wire::MacAddr mac{};
  wire::Ipv4Subnet address{};
  std::optional<wire::Ipv4Subnet> host_address;  // given to the kernel's side of the TAP
  std::optional<std::string> bridge;
  std::optional<wire::Ipv4Addr> gateway;
  std::uint16_t mtu = 1500;  // with --attach, replaced by the TAP's own at start-up
  bool no_config = false;
  bool offload = true;  // checksum and segmentation offload through the TAP's virtio-net header
  bool ecn = true;      // RFC 3168 when a peer's SYN asks (tcp::Config::ecn)
  std::vector<PortSpec> ports;
  std::optional<std::string> pcap;
  std::string log_level;
  std::uint32_t arp_timeout = 60;
  Duration msl{};
  std::uint32_t max_conns = 10000;
  std::uint32_t max_time_wait = 262144;
  std::uint32_t backlog = 1024;
  std::uint32_t sndbuf = 256 * 1024;
  bool sndbuf_autotune = true;
  std::uint32_t rcvbuf = 256 * 1024;
  std::uint64_t mem_limit = 0;  // bytes of buffer storage for all connections together
  std::string user;
  std::optional<Duration> keepalive;
  Duration keepalive_interval = std::chrono::seconds{75};
  std::uint32_t keepalive_probes = 9;
  std::optional<Duration> user_timeout;
  Duration busy_poll{};
  tcp::CcKind cc = tcp::CcKind::Cubic;
  bool control = true;                       // serve a control socket
  std::optional<std::string> control_path;   // unset: default_control_path(ifname)
  std::optional<std::string> control_group;  // unset: root, or our own group when unprivileged
};

/// One-line, human-readable reason, e.g. "invalid --ip '10.0.0.300': not an IPv4 address".
using ConfigError = std::string;

[[nodiscard]] std::optional<wire::Ipv4Addr> parse_ipv4(std::string_view text);
/// "a.b.c.d" or "a.b.c.d/len"; a missing prefix means `default_prefix`.
[[nodiscard]] std::optional<wire::Ipv4Subnet> parse_ipv4_subnet(std::string_view text,
                                                                std::uint8_t default_prefix);
/// "02:00:0a:00:00:02" (':' or '-' separated, any case).
[[nodiscard]] std::optional<wire::MacAddr> parse_mac(std::string_view text);
/// The locally administered unicast MAC 02:00:a:b:c:d for address a.b.c.d.
[[nodiscard]] wire::MacAddr mac_for(wire::Ipv4Addr ip) noexcept;

[[nodiscard]] Expected<Config, ConfigError> make_config(const Options& opts);

}  // namespace tapsrv::app
