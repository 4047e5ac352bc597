// tapsrv: a user-space TCP/IP endpoint on a TAP device. CLI11 → Config → bring-up → event loop.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>

#include "app/config.hpp"
#include "app/log_observer.hpp"
#include "app/report.hpp"
#include "app/run_loop.hpp"
#include "app/setup.hpp"

namespace {

using namespace tapsrv;

void add_up_options(CLI::App& up, app::Options& o) {
  up.add_option("--ip", o.ip, "our IPv4 address with optional prefix")->capture_default_str();
  up.add_option("--ifname", o.ifname, "TAP interface name")->capture_default_str();
  up.add_option("--mac", o.mac, "our MAC [02:00 + the IP's four bytes]");
  up.add_option("--mtu", o.mtu, "link MTU [1500]");
  up.add_option("--host-ip", o.host_ip, "address of the kernel's side of the TAP [.1, or .2]");
  up.add_flag("--no-host-ip", o.no_host_ip, "give the kernel's side no address");
  up.add_option("--bridge", o.bridge, "enslave the TAP to this existing bridge (VM networks)");
  up.add_option("--gateway", o.gateway, "next hop for peers outside our subnet");
  up.add_flag("--no-config", o.no_config, "use an existing persistent TAP exactly as it is");
  up.add_option("--port", o.ports, "TCP PORT[:echo|discard|chargen|http], repeatable")
      ->capture_default_str();
  up.add_option("--arp-timeout", o.arp_timeout, "seconds a learned neighbour stays valid")
      ->capture_default_str();
  up.add_option("--pcap", o.pcap, "write every frame in and out to this pcap file");
  up.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("tapsrv");
  logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

std::string how_to_reach(const app::Config& c) {
  const auto ip = wire::to_text(c.address.addr);
  std::string where;
  if (c.bridge) {
    where = "in bridge " + *c.bridge;
  } else if (c.host_address) {
    where = "host side " + std::string{wire::to_text(c.host_address->addr).view()} + "/" +
            std::to_string(c.host_address->prefix_len);
  } else {
    where = "no host address";
  }
  return fmt::format("{} up: {}/{} at {}, mtu {}, {}; try: ping {}  |  nc {} {}", c.ifname,
                     ip.view(), c.address.prefix_len, wire::to_text(c.mac).view(), c.mtu, where,
                     ip.view(), ip.view(), c.ports.front().port);
}

int run_up(app::Config cfg) {
  io::SignalFd signals;  // before anything can fail mid-way, so Ctrl-C always cleans up
  auto tap = app::bring_up(cfg);
  std::optional<io::PcapWriter> pcap;
  if (cfg.pcap) { pcap.emplace(*cfg.pcap); }

  Stats stats;
  app::LogObserver observer;
  Stack stack{StackConfig{.mac = cfg.mac,
                          .address = cfg.address,
                          .gateway = cfg.gateway,
                          .mtu = cfg.mtu,
                          .neighbors = {.reachable_time = std::chrono::seconds{cfg.arp_timeout}}},
              stats, observer};
  spdlog::info("{}", how_to_reach(cfg));
  const auto result = app::run_loop(stack, stats, tap, signals, pcap ? &*pcap : nullptr);
  if (pcap) { pcap->flush(); }
  app::log_report(stats);
  if (result.tap_error != 0) {
    spdlog::error("{}: TAP read failed: {}", cfg.ifname, std::strerror(result.tap_error));
    return 1;
  }
  spdlog::info("{}: {}, shutting down", cfg.ifname, strsignal(result.signal));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"tapsrv: a user-space TCP/IP endpoint on a TAP device"};
  cli.require_subcommand(1);
  app::Options opts;
  auto* up = cli.add_subcommand("up", "create the TAP and serve until SIGINT/SIGTERM");
  add_up_options(*up, opts);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) { return cli.exit(e); } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tapsrv: error: %s (see tapsrv up --help)\n", e.what());
    return 2;
  }

  auto cfg = app::make_config(opts);
  if (!cfg) {
    std::fprintf(stderr, "tapsrv: error: %s\n", cfg.error().c_str());
    return 2;
  }
  setup_logging(cfg->log_level);
  try {
    return run_up(*cfg);
  } catch (const std::exception& e) {
    // Start-up failures read like the usage errors above: one line, no timestamp.
    std::fprintf(stderr, "tapsrv: error: %s\n", e.what());
    return 1;
  }
}
