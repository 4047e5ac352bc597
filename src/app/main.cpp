// tapsrv: a user-space TCP/IP endpoint on a TAP device. CLI11 → Config → bring-up → event loop.
#include <sodium/core.h>
#include <sodium/randombytes.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>

#include "app/config.hpp"
#include "app/config_file.hpp"
#include "app/control_cli.hpp"
#include "app/control_setup.hpp"
#include "app/log_observer.hpp"
#include "app/report.hpp"
#include "app/run_loop.hpp"
#include "app/setup.hpp"
#include "tapsrv/core/bug.hpp"
#include "tapsrv/io/clock.hpp"
#include "tapsrv/io/control_socket.hpp"
#include "tapsrv/io/privileges.hpp"
#include "tapsrv/io/service_manager.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/tcp/isn.hpp"
#include "tapsrv/tcp/syn_cookie.hpp"
#include "tapsrv_version.h"

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
  up.add_flag("--attach,--no-config", o.no_config,
              "use an existing persistent TAP exactly as it is (configure nothing)");
  up.add_flag("--no-offload", o.no_offload,
              "exchange plain frames of at most the MTU, every checksum computed by tapsrv");
  up.add_flag("--no-ecn", o.no_ecn, "refuse ECN (RFC 3168) even when a client's SYN asks for it");
  up.add_option("--port", o.ports, "TCP PORT[:echo|discard|chargen|http], repeatable")
      ->capture_default_str();
  up.add_option("--arp-timeout", o.arp_timeout, "seconds a learned neighbour stays valid")
      ->capture_default_str();
  up.add_option("--msl", o.msl, "maximum segment lifetime in seconds; TIME_WAIT lasts 2 MSL")
      ->capture_default_str();
  up.add_option("--max-conns", o.max_conns, "most TCP connections at once, TIME_WAIT aside")
      ->capture_default_str();
  up.add_option("--max-time-wait", o.max_time_wait,
                "most TIME_WAIT records at once; beyond it the oldest is recycled")
      ->capture_default_str();
  up.add_option("--backlog", o.backlog, "most half-open (SYN_RECEIVED) connections at once")
      ->capture_default_str();
  up.add_option("--busy-poll", o.busy_poll,
                "microseconds to keep polling the TAP after frames arrived (0: sleep at once)")
      ->capture_default_str();
  up.add_option("--sndbuf", o.sndbuf, "send buffer per connection, bytes")->capture_default_str();
  up.add_option("--rcvbuf", o.rcvbuf, "receive buffer per connection, bytes (bounds the window)")
      ->capture_default_str();
  up.add_option("--mem-limit", o.mem_limit,
                "buffer memory of all connections together, e.g. 512M or 2G [3/32 of RAM]");
  up.add_option("--cc", o.cc, "congestion control: reno, cubic or bbr")->capture_default_str();
  up.add_option("--keepalive", o.keepalive, "seconds idle before keepalive probes (0: off)")
      ->capture_default_str();
  up.add_option("--keepalive-interval", o.keepalive_interval, "seconds between keepalive probes")
      ->capture_default_str();
  up.add_option("--keepalive-probes", o.keepalive_probes,
                "keepalive probes unanswered before a reset")
      ->capture_default_str();
  up.add_option("--user-timeout", o.user_timeout,
                "seconds data may stay unacknowledged before a reset (0: off)")
      ->capture_default_str();
  up.add_option("--user", o.user, "user to become after set-up when started as root ('root': stay)")
      ->capture_default_str();
  up.add_option("--pcap", o.pcap, "write every frame in and out to this pcap file");
  up.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  up.add_option("--control", o.control,
                "control socket path [/run/tapsrv/IFNAME.sock, else $XDG_RUNTIME_DIR/tapsrv/]");
  up.add_flag("--no-control", o.no_control, "serve no control socket (no status, no stats)");
  up.add_option("--control-group", o.control_group,
                "group that may use the control socket besides root [root]");
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("tapsrv");
  logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  // Release policy of TAPSRV_BUG_IF (the default): counted and the connection reset; each site
  // is logged the first time only, so a peer that found one cannot flood the log with it.
  set_bug_reporter([](const char* expr, const char* file, int line) {
    spdlog::error(
        "internal bug: {} at {}:{} (counted as internal_bug, connection reset; "
        "reported once)",
        expr, file, line);
  });
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
  std::string ports;
  for (const auto& p : c.ports) {
    ports += fmt::format("{}{} ({})", ports.empty() ? "" : ", ", p.port, service::name(p.service));
  }
  return fmt::format("{} up: {}/{} at {}, mtu {}{}, {}; tcp {}; try: ping {}  |  nc {} {}",
                     c.ifname, ip.view(), c.address.prefix_len, wire::to_text(c.mac).view(), c.mtu,
                     c.offload ? " (offload)" : "", where, ports, ip.view(), ip.view(),
                     c.ports.front().port);
}

template <class Key>
Key random_key() {
  if (sodium_init() < 0) { throw std::runtime_error("libsodium failed to initialise"); }
  Key key{};
  randombytes_buf(key.data(), key.size());
  return key;
}

int run_up(app::Config cfg) {
  io::SignalFd signals;  // before anything can fail mid-way, so Ctrl-C always cleans up
  auto tap = app::bring_up(cfg);
  std::optional<io::PcapWriter> pcap;
  if (cfg.pcap) { pcap.emplace(*cfg.pcap); }
  auto control = app::open_control_socket(cfg);  // while still root: /run/tapsrv is root's
  io::UniqueFd control_remover;  // nobody cannot unlink in root's /run/tapsrv: a child will
  if (control && ::geteuid() == 0 && cfg.user != "root") {
    control_remover = io::remove_after_exit(control->listener.path());
  }
  // From here on nothing needs root: the TAP is open and configured, the pcap file is open,
  // and a TAP we created disappears with its descriptor.
  io::drop_privileges(cfg.user);
  spdlog::debug("running as uid {} with capabilities {}", ::getuid(), io::effective_capabilities());

  Stats stats;
  app::LogObserver observer{spdlog::should_log(spdlog::level::debug), stats};
  tcp::Rfc6528Isn isn{random_key<tcp::Rfc6528Isn::Key>()};
  StackConfig stack_cfg{.mac = cfg.mac,
                        .address = cfg.address,
                        .gateway = cfg.gateway,
                        .mtu = cfg.mtu,
                        .offload = tap.offload(),
                        .neighbors = {.reachable_time = std::chrono::seconds{cfg.arp_timeout}}};
  stack_cfg.tcp.msl = cfg.msl;
  stack_cfg.tcp.max_connections = cfg.max_conns;
  stack_cfg.tcp.max_time_wait = cfg.max_time_wait;
  stack_cfg.tcp.syn_backlog = cfg.backlog;
  stack_cfg.tcp.send_buffer = cfg.sndbuf;
  stack_cfg.tcp.send_buffer_autotune = cfg.sndbuf_autotune;
  stack_cfg.tcp.recv_buffer = cfg.rcvbuf;
  stack_cfg.tcp.memory_limit = cfg.mem_limit;
  stack_cfg.tcp.congestion_control = cfg.cc;
  stack_cfg.tcp.syn_cookie_key = random_key<tcp::SynCookies::Key>();
  stack_cfg.tcp.connection_hash_key = random_key<tcp::FourTupleHash::Key>();
  stack_cfg.tcp.keepalive_idle = cfg.keepalive;
  stack_cfg.tcp.keepalive_interval = cfg.keepalive_interval;
  stack_cfg.tcp.keepalive_probes = cfg.keepalive_probes;
  stack_cfg.tcp.user_timeout = cfg.user_timeout;
  stack_cfg.tcp.ecn = cfg.ecn;
  Stack stack{stack_cfg, stats, isn, observer, observer};

  spdlog::info("{}", how_to_reach(cfg));
  spdlog::info("buffer memory: at most {} MiB for all connections, pressure from {} MiB",
               cfg.mem_limit >> 20, stack.tcp().buffer_memory().pressure_mark() >> 20);
  std::vector<std::unique_ptr<tcp::HandlerFactory>> factories;
  for (const auto& p : cfg.ports) {
    factories.push_back(service::make_factory(p.service));
    stack.listen(io::clock_now(), p.port, *factories.back());
  }
  std::optional<app::ControlServer> server;
  if (control) {
    server.emplace(std::move(control->listener), stack.tcp(), stats,
                   app::control_identity(cfg, TAPSRV_VERSION), control->group);
    spdlog::info("control socket {} (tapsrv status, tapsrv stats)", server->path());
  }
  io::notify_ready(how_to_reach(cfg));
  const auto result = app::run_loop(stack, stats, tap, signals, pcap ? &*pcap : nullptr,
                                    cfg.busy_poll, server ? &*server : nullptr);
  if (server && !control_remover.valid() && !server->remove_socket()) {
    spdlog::debug("control socket {} stays until the next start replaces it: {}", server->path(),
                  std::strerror(errno));
  }
  io::notify_stopping();
  if (pcap) { pcap->flush(); }
  app::log_report(stats, stack.tcp());
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
  cli.set_version_flag("--version", std::string{"tapsrv "} + TAPSRV_VERSION);
  cli.require_subcommand(1);
  app::Options opts;
  auto* up = cli.add_subcommand("up", "create the TAP and serve until SIGINT/SIGTERM");
  std::string config_path;  // only for --help: expand_config_file() reads the file itself
  up->add_option("--config", config_path,
                 "read options from a TOML file (keys: long option names; the command line wins)");
  add_up_options(*up, opts);
  app::ClientCli client;
  app::add_client_subcommands(cli, client);
  std::vector<std::string> args{argv + 1, argv + argc};
  const auto expanded = app::expand_config_file(std::move(args), *up);
  if (!expanded) {
    std::fprintf(stderr, "tapsrv: error: %s\n", expanded.error().c_str());
    return 2;
  }
  // CLI11 parses a vector of arguments from its back.
  std::vector<std::string> reversed{expanded->rbegin(), expanded->rend()};
  try {
    cli.parse(reversed);
    opts.sndbuf_given = up->count("--sndbuf") > 0;
    opts.physical_memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                           static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    const auto* sub = cli.get_subcommands().empty() ? up : cli.get_subcommands().front();
    std::fprintf(stderr, "tapsrv: error: %s (see tapsrv %s --help)\n", e.what(),
                 sub->get_name().c_str());
    return 2;
  }
  if (!up->parsed()) { return app::run_client(client); }

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
