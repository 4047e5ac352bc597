// `tapsrv up` option parsing and validation: defaults, derived values and every refusal.
#include <doctest/doctest.h>

#include <string>

#include "app/config.hpp"
#include "app/mem_limit.hpp"
#include "support/frames.hpp"

namespace tapsrv::app {
namespace {

using test::ip;
using test::mac;
using wire::Ipv4Subnet;

// The error make_config() gives for `o`; fails the test if it accepts it.
std::string error_of(const Options& o) {
  const auto c = make_config(o);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}
bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}
// The error names the option and quotes the offending value.
void check_names(const Options& o, std::string_view option, std::string_view value) {
  const auto e = error_of(o);
  CAPTURE(e);
  CHECK(contains(e, option));
  CHECK(contains(e, value));
}
Config config_of(const Options& o) {
  const auto c = make_config(o);
  if (!c) { FAIL("rejected: " << c.error()); }
  return *c;
}

TEST_SUITE("app.config") {
  TEST_CASE("parse_ipv4 accepts dotted quads only") {
    CHECK(parse_ipv4("10.0.0.2") == ip(10, 0, 0, 2));
    CHECK(parse_ipv4("0.0.0.0") == wire::Ipv4Addr{});
    CHECK(parse_ipv4("255.255.255.255") == ip(255, 255, 255, 255));
    for (const char* bad : {"", "10.0.0", "10.0.0.2.", "10.0.0.256", "10.0.0.-1", "a.b.c.d",
                            "10.0.0.2 ", " 10.0.0.2", "10.0.0.2/24", "0x0a.0.0.2", "010.0.0.2",
                            "1.2.3.4.5", "::1", "10..0.2", "10.0.0.2\n", "1111.1.1.1"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_ipv4(bad).has_value());
    }
  }

  // Regression (fixed): parse_ipv4() handed std::string{text}.c_str() to inet_pton(), so a
  // string_view with an embedded NUL was parsed only up to the NUL and the rest ignored:
  // "10.0.0.2\0junk" was accepted as 10.0.0.2. Unreachable from argv (C strings), but the
  // function takes any string_view and promises a whole-text parse.
  TEST_CASE("parse_ipv4 rejects text with an embedded NUL") {
    CHECK_FALSE(parse_ipv4(std::string_view{"10.0.0.2\0junk", 13}).has_value());
  }

  TEST_CASE("parse_ipv4_subnet: optional prefix 0..32, default when absent") {
    CHECK(parse_ipv4_subnet("10.0.0.2", 24).value().prefix_len == 24);
    CHECK(parse_ipv4_subnet("10.0.0.2", 16).value().prefix_len == 16);
    const auto s = parse_ipv4_subnet("192.168.7.9/20", 24);
    REQUIRE(s.has_value());
    CHECK(s->addr == ip(192, 168, 7, 9));
    CHECK(s->prefix_len == 20);
    CHECK(parse_ipv4_subnet("10.0.0.2/0", 24).value().prefix_len == 0);
    CHECK(parse_ipv4_subnet("10.0.0.2/32", 24).value().prefix_len == 32);
    for (const char* bad :
         {"10.0.0.2/33", "10.0.0.2/", "10.0.0.2/-1", "10.0.0.2/+8", "10.0.0.2/ 8", "10.0.0.2/8 ",
          "10.0.0.2/256", "10.0.0.2/300", "10.0.0.2/24/24", "10.0.0.2/0x10", "/24", "10.0.0/24"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_ipv4_subnet(bad, 24).has_value());
    }
  }

  TEST_CASE("parse_mac: six hex pairs, ':' or '-', any case") {
    CHECK(parse_mac("02:00:0a:00:00:02") == mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x02));
    CHECK(parse_mac("02-00-0A-00-00-02") == mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x02));
    CHECK(parse_mac("AB:cd:Ef:01:23:45") == mac(0xab, 0xcd, 0xef, 0x01, 0x23, 0x45));
    CHECK(parse_mac("ff:ff:ff:ff:ff:ff") == wire::MacAddr::broadcast());
    for (const char* bad :
         {"", "02:00:0a:00:00", "02:00:0a:00:00:02:03", "02:00:0a:00:00:2", "2:00:0a:00:00:02",
          "02:00:0a:00:00:0g", "02.00.0a.00.00.02", "0200:0a:00:00:02:", "02:00:0a:00:00:02 ",
          "+2:00:0a:00:00:02", "02:00:0a:00:00:-2", "020000a00002", "02 00 0a 00 00 02"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_mac(bad).has_value());
    }
  }

  TEST_CASE("mac_for: 02:00 followed by the address, locally administered unicast") {
    CHECK(mac_for(ip(10, 0, 0, 2)) == mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x02));
    CHECK(mac_for(ip(192, 168, 255, 1)) == mac(0x02, 0x00, 0xc0, 0xa8, 0xff, 0x01));
    const auto m = mac_for(ip(255, 255, 255, 255));
    CHECK_FALSE(m.is_multicast());
    CHECK((std::to_integer<unsigned>(m.octets[0]) & 0x02U) != 0);  // locally administered
  }

  TEST_CASE("defaults: 10.0.0.2/24, host 10.0.0.1/24, MAC 02:00:0a:00:00:02, MTU 1500") {
    const auto c = config_of(Options{});
    CHECK(c.ifname == "tapsrv0");
    CHECK(c.address.addr == ip(10, 0, 0, 2));
    CHECK(c.address.prefix_len == 24);
    REQUIRE(c.host_address.has_value());
    CHECK(c.host_address->addr == ip(10, 0, 0, 1));
    CHECK(c.host_address->prefix_len == 24);
    CHECK(c.mac == mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x02));
    CHECK(c.mtu == 1500);
    CHECK_FALSE(c.no_config);
    CHECK_FALSE(c.bridge.has_value());
    CHECK_FALSE(c.gateway.has_value());
    CHECK_FALSE(c.pcap.has_value());
    REQUIRE(c.ports.size() == 1);
    CHECK(c.ports[0].port == 3333);
    CHECK(c.ports[0].service == service::Kind::Echo);
    CHECK(c.log_level == "info");
    CHECK(c.arp_timeout == 60);
  }

  TEST_CASE("the default host side is .1, or .2 when we are .1") {
    Options o;
    o.ip = "10.0.0.1/24";
    auto c = config_of(o);
    CHECK(c.host_address->addr == ip(10, 0, 0, 2));
    CHECK(c.mac == mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x01));

    o.ip = "172.16.5.77/16";
    c = config_of(o);
    CHECK(c.host_address->addr == ip(172, 16, 0, 1));
    CHECK(c.host_address->prefix_len == 16);

    o.ip = "192.168.1.9";  // no prefix: /24
    c = config_of(o);
    CHECK(c.address.prefix_len == 24);
    CHECK(c.host_address->addr == ip(192, 168, 1, 1));
  }

  TEST_CASE("/31: both addresses are hosts, the host side takes the other one (RFC 3021)") {
    Options o;
    o.ip = "10.0.0.0/31";
    auto c = config_of(o);
    CHECK(c.address.addr == ip(10, 0, 0, 0));
    CHECK(c.host_address->addr == ip(10, 0, 0, 1));
    CHECK(c.host_address->prefix_len == 31);
    o.ip = "10.0.0.1/31";
    c = config_of(o);
    CHECK(c.host_address->addr == ip(10, 0, 0, 0));
  }

  TEST_CASE("/32 leaves no host address: refused unless the host side needs none") {
    Options o;
    o.ip = "10.0.0.2/32";
    const auto e = error_of(o);
    CHECK(contains(e, "--ip 10.0.0.2/32"));
    CHECK(contains(e, "--no-host-ip"));
    o.no_host_ip = true;
    auto c = config_of(o);
    CHECK(c.address.prefix_len == 32);
    CHECK_FALSE(c.host_address.has_value());

    Options b;
    b.ip = "10.0.0.2/32";
    b.bridge = "br0";
    CHECK_FALSE(config_of(b).host_address.has_value());

    Options n;
    n.ip = "10.0.0.2/32";
    n.no_config = true;
    CHECK_FALSE(config_of(n).host_address.has_value());

    Options h;
    h.ip = "10.0.0.2/32";
    h.host_ip = "10.0.0.1";  // outside a /32
    check_names(h, "--host-ip", "10.0.0.1");
  }

  TEST_CASE("--ip refusals name the option and the value") {
    Options o;
    for (const char* bad : {"10.0.0.300", "10.0.0.2/33", "nonsense", "", "10.0.0.2/"}) {
      CAPTURE(bad);
      o.ip = bad;
      const auto e = error_of(o);
      CHECK(contains(e, "--ip"));
      CHECK(contains(e, std::string{"'"} + bad + "'"));
    }
    for (const char* not_host :
         {"0.1.2.3/8", "127.0.0.1/8", "224.0.0.1/4", "240.0.0.1/8", "255.255.255.255/32"}) {
      CAPTURE(not_host);
      o.ip = not_host;
      const auto e = error_of(o);
      CHECK(contains(e, "--ip"));
      CHECK(contains(e, "not a unicast host address"));
    }
    for (const char* edge : {"10.0.0.0/24", "10.0.0.255/24", "10.0.0.0/8", "10.255.255.255/8"}) {
      CAPTURE(edge);
      o.ip = edge;
      const auto e = error_of(o);
      CHECK(contains(e, "--ip"));
      CHECK(contains(e, "network or broadcast address"));
    }
  }

  TEST_CASE("--mac: parsed, and must be unicast and nonzero") {
    Options o;
    o.mac = "02:11:22:33:44:55";
    CHECK(config_of(o).mac == mac(0x02, 0x11, 0x22, 0x33, 0x44, 0x55));
    for (const char* bad : {"02:11:22:33:44", "zz:11:22:33:44:55"}) {
      CAPTURE(bad);
      o.mac = bad;
      check_names(o, "--mac", bad);
    }
    for (const char* group :
         {"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "33:33:00:00:00:01", "00:00:00:00:00:00"}) {
      CAPTURE(group);
      o.mac = group;
      check_names(o, "--mac", group);
      CHECK(contains(error_of(o), "unicast"));
    }
  }

  TEST_CASE("--mtu must be within 88..65521: below 88 TCP's options leave no room for data") {
    Options o;
    for (std::uint32_t ok : {88U, 89U, 576U, 1500U, 9000U, 65521U}) {
      CAPTURE(ok);
      o.mtu = ok;
      CHECK(config_of(o).mtu == ok);
    }
    for (std::uint32_t bad : {0U, 67U, 68U, 72U, 87U, 65522U, 65535U, 70000U, 4294967295U}) {
      CAPTURE(bad);
      o.mtu = bad;
      check_names(o, "--mtu", std::to_string(bad));
      CHECK(contains(error_of(o), "between 88 "));
    }
  }

  TEST_CASE("--ifname follows the kernel's dev_valid_name()") {
    Options o;
    for (const char* ok : {"t", "tap0", "a-b_c.d", "exactly15chars_"}) {
      CAPTURE(ok);
      o.ifname = ok;
      CHECK(config_of(o).ifname == ok);
    }
    for (const char* bad :
         {"", ".", "..", "sixteen_chars_xx", "a/b", "a:b", "a b", "a\tb", "a\nb"}) {
      CAPTURE(bad);
      o.ifname = bad;
      check_names(o, "--ifname", bad);
    }
    o.ifname = std::string{"a\0b", 3};
    CHECK(contains(error_of(o), "--ifname"));
  }

  TEST_CASE("--attach (alias --no-config) takes the TAP as it is") {
    Options o;
    o.no_config = true;
    const auto c = config_of(o);
    CHECK(c.no_config);
    CHECK_FALSE(c.host_address.has_value());  // nothing is configured on the host side

    SUBCASE("not with --bridge") { o.bridge = "br0"; }
    SUBCASE("not with --host-ip") { o.host_ip = "10.0.0.1"; }
    SUBCASE("not with --mtu, not even the default value") { o.mtu = 1500; }
    const auto e = error_of(o);
    CHECK(contains(e, "--attach"));
  }

  TEST_CASE("--bridge excludes --host-ip and gives the host side no address") {
    Options o;
    o.bridge = "br0";
    const auto c = config_of(o);
    CHECK(c.bridge == "br0");
    CHECK_FALSE(c.host_address.has_value());
    o.host_ip = "10.0.0.1";
    const auto e = error_of(o);
    CHECK(contains(e, "--bridge"));
    CHECK(contains(e, "--host-ip"));
  }

  TEST_CASE("--host-ip: in our subnet, not ours, not its network or broadcast") {
    Options o;
    o.host_ip = "10.0.0.77";
    auto c = config_of(o);
    CHECK(c.host_address->addr == ip(10, 0, 0, 77));
    CHECK(c.host_address->prefix_len == 24);

    o.host_ip = "10.0.0.77/16";  // Pinned: the prefix is always ours, a given one is ignored.
    c = config_of(o);
    CHECK(c.host_address->prefix_len == 24);

    for (const char* bad :
         {"10.0.1.1", "10.0.0.0", "10.0.0.255", "10.0.0.2", "bogus", "10.0.0.1/40"}) {
      CAPTURE(bad);
      o.host_ip = bad;
      check_names(o, "--host-ip", bad);
    }
  }

  TEST_CASE("--no-host-ip leaves the host side without an address") {
    Options o;
    o.no_host_ip = true;
    CHECK_FALSE(config_of(o).host_address.has_value());
  }

  TEST_CASE("--gateway: a host of our subnet other than us") {
    Options o;
    o.gateway = "10.0.0.254";
    CHECK(config_of(o).gateway == ip(10, 0, 0, 254));
    o.gateway = "10.0.0.1";  // may be the host side itself
    CHECK(config_of(o).gateway == ip(10, 0, 0, 1));

    for (const char* bad :
         {"192.0.2.1", "10.0.1.1", "10.0.0.0", "10.0.0.255", "10.0.0.2", "10.0.0.1/24", "gw"}) {
      CAPTURE(bad);
      o.gateway = bad;
      check_names(o, "--gateway", bad);
    }
    o.gateway = "192.0.2.1";
    CHECK(contains(error_of(o), "outside 10.0.0.0/24"));
  }

  // Regression (fixed): make_config() applied check_unicast() to --ip only. With a short
  // prefix the subnet contains loopback, multicast and class E addresses, and --gateway and
  // --host-ip accepted them, e.g. a multicast gateway 224.0.0.1 for
  // --ip 200.0.0.2/2, or --host-ip 127.0.0.1 for --ip 100.0.0.2/1.
  TEST_CASE("--gateway and --host-ip must be unicast host addresses too") {
    Options o;
    SUBCASE("multicast gateway") {
      o.ip = "200.0.0.2/2";
      o.gateway = "224.0.0.1";
      check_names(o, "--gateway", "224.0.0.1");
    }
    SUBCASE("class E gateway") {
      o.ip = "200.0.0.2/2";
      o.gateway = "240.0.0.1";
      check_names(o, "--gateway", "240.0.0.1");
    }
    SUBCASE("loopback host side") {
      o.ip = "100.0.0.2/1";
      o.host_ip = "127.0.0.1";
      check_names(o, "--host-ip", "127.0.0.1");
    }
  }

  // Regression (fixed): default_host_address() took the first address of the subnet without
  // the check_unicast() that --ip gets, so --ip 10.0.0.2/4 (network 0.0.0.0/4) gave the
  // kernel's side 0.0.0.1, an address of "this network" (0/8) that no host may own.
  TEST_CASE("the derived host address is a unicast host address") {
    Options o;
    o.ip = "10.0.0.2/4";
    const auto c = make_config(o);
    if (c) {
      REQUIRE(c->host_address.has_value());
      CHECK((c->host_address->addr.value >> 24) != 0);
    }
  }

  TEST_CASE("--port: PORT[:SERVICE], 1..65535, known services, no duplicates") {
    Options o;
    o.ports = {"7:echo", "9:discard", "19:chargen", "80:http", "3333", "65535:echo"};
    const auto c = config_of(o);
    REQUIRE(c.ports.size() == 6);
    CHECK(c.ports[0].port == 7);
    CHECK(c.ports[0].service == service::Kind::Echo);
    CHECK(c.ports[1].service == service::Kind::Discard);
    CHECK(c.ports[2].service == service::Kind::Chargen);
    CHECK(c.ports[3].service == service::Kind::Http);
    CHECK(c.ports[4].service == service::Kind::Echo);  // the default service
    CHECK(c.ports[5].port == 65535);

    for (const char* bad : {"0", "65536", "-1", "", ":echo", "80:", "80:HTTP", "80:ftp", "80x",
                            "80:echo:x", " 80", "0x50"}) {
      CAPTURE(bad);
      o.ports = {bad};
      check_names(o, "--port", std::string{"'"} + bad + "'");
    }

    o.ports = {"80:echo", "80:http"};
    const auto e = error_of(o);
    CHECK(contains(e, "--port '80:http'"));
    CHECK(contains(e, "given twice"));
  }

  TEST_CASE("--arp-timeout: 1..86400 seconds") {
    Options o;
    o.arp_timeout = 1;
    CHECK(config_of(o).arp_timeout == 1);
    o.arp_timeout = 86400;
    CHECK(config_of(o).arp_timeout == 86400);
    for (std::uint32_t bad : {0U, 86401U}) {
      o.arp_timeout = bad;
      check_names(o, "--arp-timeout", std::to_string(bad));
    }
  }

  TEST_CASE("--log-level: one of spdlog's names") {
    Options o;
    for (const char* ok : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
      o.log_level = ok;
      CHECK(config_of(o).log_level == ok);
    }
    for (const char* bad : {"", "INFO", "warning", "verbose"}) {
      CAPTURE(bad);
      o.log_level = bad;
      check_names(o, "--log-level", std::string{"'"} + bad + "'");
    }
  }

  TEST_CASE("--sndbuf and --rcvbuf: 4096 bytes to 64 MiB, default 256 KiB") {
    Options o;
    CHECK(config_of(o).sndbuf == 256 * 1024);
    CHECK(config_of(o).rcvbuf == 256 * 1024);
    CHECK(config_of(o).sndbuf_autotune);  // the default only starts the send buffer
    o.sndbuf_given = true;
    CHECK_FALSE(config_of(o).sndbuf_autotune);  // an explicit --sndbuf fixes it
    o.sndbuf = 4096;
    o.rcvbuf = 64U << 20;
    CHECK(config_of(o).sndbuf == 4096);
    CHECK(config_of(o).rcvbuf == 64U << 20);
    for (std::uint32_t bad : {0U, 4095U, (64U << 20) + 1}) {
      Options b;
      b.sndbuf = bad;
      check_names(b, "--sndbuf", std::to_string(bad));
      Options r;
      r.rcvbuf = bad;
      check_names(r, "--rcvbuf", std::to_string(bad));
    }
  }

  TEST_CASE("--max-time-wait: 0 to 10000000, default 262144 (Linux tcp_max_tw_buckets)") {
    Options o;
    CHECK(config_of(o).max_time_wait == 262144);
    o.max_time_wait = 0;  // TIME_WAIT closes at once
    CHECK(config_of(o).max_time_wait == 0);
    o.max_time_wait = 10'000'000;
    CHECK(config_of(o).max_time_wait == 10'000'000);
    o.max_time_wait = 10'000'001;
    check_names(o, "--max-time-wait", "10000001");
  }

  TEST_CASE("--mem-limit: a size with K/M/G, 1M to the machine's memory, default 3/32 of it") {
    CHECK(parse_size("65536") == 65536U);
    CHECK(parse_size("64K") == 65536U);
    CHECK(parse_size("512m") == 512ULL << 20);
    CHECK(parse_size("2G") == 2ULL << 30);
    for (const char* bad : {"", "K", "1.5G", "-1M", "1T", "12 M", "99999999999999999999"}) {
      CHECK_MESSAGE(!parse_size(bad), bad);
    }
    CHECK(parse_size("17179869184G") == std::nullopt);  // 2^64 bytes: does not fit
    Options o;
    o.physical_memory = 24ULL << 30;
    CHECK(config_of(o).mem_limit == (24ULL << 30) / 32 * 3);  // Linux's tcp_mem[2]: 2.25 GiB
    o.mem_limit = "64M";
    CHECK(config_of(o).mem_limit == 64ULL << 20);
    o.mem_limit = "24G";
    CHECK(config_of(o).mem_limit == 24ULL << 30);
    for (const char* bad : {"1023K", "25G", "lots", "0"}) {
      Options b;
      b.physical_memory = 24ULL << 30;
      b.mem_limit = bad;
      check_names(b, "--mem-limit", bad);
    }
  }

  TEST_CASE("--cc: reno, cubic or bbr, default cubic (Linux's default)") {
    Options o;
    CHECK(config_of(o).cc == tcp::CcKind::Cubic);
    for (const auto& [text, kind] : {std::pair{"reno", tcp::CcKind::Reno},
                                     {"cubic", tcp::CcKind::Cubic},
                                     {"bbr", tcp::CcKind::Bbr}}) {
      o.cc = text;
      CHECK(config_of(o).cc == kind);
    }
    for (const char* bad : {"", "BBR", "vegas", "cubic ", "bbr2"}) {
      CAPTURE(bad);
      Options b;
      b.cc = bad;
      check_names(b, "--cc", std::string{"'"} + bad + "'");
    }
  }

  TEST_CASE("--busy-poll: 0 (off) to 1000 microseconds, default 20") {
    Options o;
    CHECK(config_of(o).busy_poll == std::chrono::microseconds{20});
    o.busy_poll = 0;
    CHECK(config_of(o).busy_poll == Duration{0});
    o.busy_poll = 1001;
    check_names(o, "--busy-poll", "1001");
  }

  TEST_CASE("--keepalive-interval and --keepalive-probes: Linux's defaults, bounded") {
    Options o;
    CHECK(config_of(o).keepalive_interval == std::chrono::seconds{75});
    CHECK(config_of(o).keepalive_probes == 9);
    o.keepalive_interval = 0.5;
    o.keepalive_probes = 127;
    CHECK(config_of(o).keepalive_interval == std::chrono::milliseconds{500});
    CHECK(config_of(o).keepalive_probes == 127);
    o.keepalive_interval = 0;
    check_names(o, "--keepalive-interval", "0");
    o.keepalive_interval = 1;
    for (std::uint32_t bad : {0U, 128U}) {
      o.keepalive_probes = bad;
      check_names(o, "--keepalive-probes", std::to_string(bad));
    }
  }

  TEST_CASE("--no-ecn: ECN is accepted by default (Linux tcp_ecn=2), refused with the flag") {
    Options o;
    CHECK(config_of(o).ecn);
    o.no_ecn = true;
    CHECK_FALSE(config_of(o).ecn);
  }

  TEST_CASE("--pcap is passed through") {
    Options o;
    o.pcap = "/tmp/x.pcap";
    CHECK(config_of(o).pcap == "/tmp/x.pcap");
  }

  TEST_CASE("control socket: on by default for group root; --no-control excludes the others") {
    Options o;
    auto c = make_config(o);
    REQUIRE(c.has_value());
    CHECK(c->control);
    CHECK_FALSE(c->control_path.has_value());
    CHECK_FALSE(c->control_group.has_value());
    o.control = "/tmp/x.sock";
    o.control_group = "adm";
    c = make_config(o);
    REQUIRE(c.has_value());
    CHECK(c->control_path == "/tmp/x.sock");
    CHECK(c->control_group == "adm");
    o.no_control = true;
    CHECK(contains(error_of(o), "--no-control excludes --control"));
    o.control.reset();
    CHECK(contains(error_of(o), "--no-control excludes"));
    o.control_group.reset();
    c = make_config(o);
    REQUIRE(c.has_value());
    CHECK_FALSE(c->control);
    Options empty;
    empty.control = "";
    CHECK(contains(error_of(empty), "invalid --control ''"));
  }
}

}  // namespace
}  // namespace tapsrv::app
