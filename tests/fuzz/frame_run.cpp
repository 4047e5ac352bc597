// The whole stack, Stack::on_frame to the transmit queue, on a fixed clock and a fixed ISN: the
// corpus holds real conversations with the kernel, so mutations start from deep TCP states.
#include <array>
#include <memory>
#include <vector>

#include "fuzz/runs.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/stack/stack.hpp"
#include "tapsrv/tcp/isn.hpp"
#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/ipv4.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::fuzz {

namespace {

using namespace std::chrono_literals;

// tools/pcap2corpus.py rewrites the captured ACK numbers to this ISS; keep the two in step.
constexpr std::uint32_t kFrameIss = 0x10000000;
// Enough for a few dozen retransmission backoffs and TIME_WAITs after the last frame, few enough
// that a run stays well under a millisecond.
constexpr int kMaxTimerRuns = 256;
// The most payload one TSO segment may carry: what stack.cpp allows (an IPv4 total length of
// 64 KiB less the largest headers).
constexpr std::size_t kTsoMaxPayload =
    wire::kIpv4MaxPacketLen - wire::kIpv4MinHeaderLen - wire::kTcpMaxHeaderLen;

// The addresses of tools/fuzz_corpus.sh's capture (tapsrv's defaults), so its frames match.
StackConfig frame_config(const FrameSetup& setup) {
  StackConfig c;
  c.mac.octets = {std::byte{0x02}, std::byte{0x00}, std::byte{0x0a},
                  std::byte{0x00}, std::byte{0x00}, std::byte{0x02}};
  c.address = wire::Ipv4Subnet{wire::Ipv4Addr::from_octets(10, 0, 0, 2), 24};
  c.mtu = setup.mtu;
  c.offload = setup.tx_offload;
  c.tcp.msl = 500ms;  // as the capture ran, so TIME_WAIT ends within the run
  // Small limits, so that a short input can reach them.
  c.tcp.max_connections = 16;
  c.tcp.syn_backlog = 8;
  return c;
}

// A TCP frame sent with a partial checksum: finish it the way the device does (virtio spec
// §5.1.6.2: sum from csum_start to the end of the frame, store at csum_start + csum_offset,
// Linux skb_checksum_help), then the result must be the segment's true checksum.
void check_partial_checksum(wire::Bytes frame, TxOffload off, std::size_t l4_start) {
  require(off.partial_checksum, "TCP frame under offload without a partial checksum");
  require(off.csum_start == l4_start, "csum_start is not the TCP header", off.csum_start,
          static_cast<long long>(l4_start));
  require(off.csum_offset == wire::kTcpChecksumOffset, "csum_offset", off.csum_offset);
  const std::size_t field = std::size_t{off.csum_start} + off.csum_offset;
  require(field + 2 <= frame.size(), "checksum field past the frame",
          static_cast<long long>(field));
  std::vector<std::byte> done(frame.begin(), frame.end());
  const wire::MutBytes from_start = wire::MutBytes{done}.subspan(off.csum_start);
  wire::store_be16(done, field, wire::checksum(from_start));
  const auto ip = wire::Ipv4View::parse(wire::Bytes{done}.subspan(wire::kEthHeaderLen));
  require(ip.has_value(), "IPv4 header after the checksum was completed");
  require(wire::verify_tcp_checksum(ip->payload(), ip->src(), ip->dst()),
          "partial checksum wrong once the device completes it");
}

// A TSO frame (gso_size set): the device cuts its payload into gso_size pieces, each with a copy
// of the headers, so each piece must fit the MTU and the connection's MSS; the whole within
// the TSO limit (Linux tcp_tso_autosize, gso_max_size).
void check_tso(const wire::Ipv4View& ip, const wire::TcpView& tcp, TxOffload off,
               const StackConfig& cfg, const tcp::Engine& engine) {
  const std::size_t payload = tcp.payload().size();
  require(payload > off.gso_size, "gso_size set on a segment that needs no cutting", off.gso_size,
          static_cast<long long>(payload));
  require(payload <= kTsoMaxPayload, "TSO segment over the TSO limit",
          static_cast<long long>(payload));
  const std::size_t piece = ip.header_len() + tcp.header_len() + off.gso_size;
  require(piece <= cfg.mtu, "TSO piece larger than the MTU", static_cast<long long>(piece),
          cfg.mtu);
  require(off.gso_size <= cfg.mtu - wire::kIpv4MinHeaderLen - wire::kTcpMinHeaderLen,
          "gso_size above our MSS", off.gso_size);
  const tcp::FourTuple id{ip.dst(), tcp.dst_port(), ip.src(), tcp.src_port()};
  if (const tcp::Connection* c = engine.find(id)) {
    // mss() is the peer's MSS less our fixed options; SACK blocks only shrink a piece.
    require(off.gso_size <= c->mss(), "gso_size above the connection's MSS", off.gso_size,
            c->mss());
  }
  const auto seg = wire::decode(tcp);
  require(!seg->flags.syn() && !seg->flags.rst(), "SYN or RST cut by TSO");
  require(off.gso_ecn == seg->flags.cwr(), "GSO_ECN and CWR disagree", off.gso_ecn);
}

// Every frame we would write must be one a peer can parse: checksums right (once the device has
// finished them), sizes in bounds, offload flags only where the device can honour them.
void check_frame(wire::Bytes frame, TxOffload off, const StackConfig& cfg,
                 const tcp::Engine& engine) {
  require(frame.size() >= wire::kEthHeaderLen, "frame size", static_cast<long long>(frame.size()));
  const auto eth = wire::EthernetView::parse(frame);
  require(eth.has_value() && eth->src() == cfg.mac, "ethernet header");
  const bool tso = off.gso_size != 0;
  const std::size_t limit = wire::kEthHeaderLen + (tso ? wire::kIpv4MaxPacketLen : cfg.mtu);
  require(frame.size() <= limit, "frame size", static_cast<long long>(frame.size()), tso);
  if (eth->ethertype() == wire::ethertype::kArp) {
    require(off == TxOffload{}, "offload flags on ARP");
    require(wire::parse_arp(eth->payload()).has_value(), "ARP packet");
    return;
  }
  require(eth->ethertype() == wire::ethertype::kIpv4, "ethertype", eth->ethertype());
  const auto ip = wire::Ipv4View::parse(eth->payload());
  require(ip.has_value() && ip->src() == cfg.address.addr, "IPv4 header");
  if (ip->protocol() == wire::ip_proto::kIcmp) {
    require(off == TxOffload{}, "offload flags on ICMP");
    require(wire::checksum(ip->payload()) == 0, "ICMP checksum");
    return;
  }
  require(ip->protocol() == wire::ip_proto::kTcp, "IP protocol", ip->protocol());
  const auto tcp = wire::TcpView::parse(ip->payload());
  require(tcp.has_value() && wire::decode(*tcp).has_value(), "TCP header");
  if (!cfg.offload) {
    require(off == TxOffload{}, "offload flags while offload is off");
    require(wire::verify_tcp_checksum(ip->payload(), ip->src(), ip->dst()), "TCP checksum");
    return;
  }
  require(frame.size() == wire::kEthHeaderLen + ip->total_len(),
          "bytes after the IPv4 packet, which the device would sum",
          static_cast<long long>(frame.size()), ip->total_len());
  check_partial_checksum(frame, off, wire::kEthHeaderLen + ip->header_len());
  if (tso) {
    check_tso(*ip, *tcp, off, cfg, engine);
  } else {
    require(!off.gso_ecn, "GSO_ECN without GSO");
  }
}

// Almost every mutation breaks a checksum, and the stack drops such a frame at once. So unless the
// chunk asks for its bytes as they are, the IPv4 header checksum and the TCP or ICMP checksum are
// made right first: the fuzzer's equivalent of the switch that turns verification off in lwIP's
// and smoltcp's fuzz builds, without one in tapsrv.
void fix_checksums(wire::MutBytes f) noexcept {
  if (f.size() < wire::kEthHeaderLen + wire::kIpv4MinHeaderLen ||
      wire::load_be16(f, 12) != wire::ethertype::kIpv4) {
    return;
  }
  const auto ip = f.subspan(wire::kEthHeaderLen);
  const std::size_t ihl = (wire::load_u8(ip, 0) & 0xfU) * 4U;
  const std::size_t total = wire::load_be16(ip, 2);
  if (ihl < wire::kIpv4MinHeaderLen || ihl > total || total > ip.size()) { return; }
  wire::store_be16(ip, 10, 0);
  wire::store_be16(ip, 10, wire::checksum(ip.first(ihl)));
  const auto l4 = ip.subspan(ihl, total - ihl);
  const std::uint8_t protocol = wire::load_u8(ip, 9);
  if (protocol == wire::ip_proto::kTcp && l4.size() >= wire::kTcpMinHeaderLen) {
    const wire::Ipv4Addr src{wire::load_be32(ip, 12)};
    const wire::Ipv4Addr dst{wire::load_be32(ip, 16)};
    wire::store_be16(l4, 16, 0);
    wire::store_be16(
        l4, 16,
        wire::Checksum{}
            .add_pseudo_header(src, dst, protocol, static_cast<std::uint16_t>(l4.size()))
            .add(l4)
            .finish());
  } else if (protocol == wire::ip_proto::kIcmp && l4.size() >= 4) {
    wire::store_be16(l4, 2, 0);
    wire::store_be16(l4, 2, wire::checksum(l4));
  }
}

class FrameRun {
 public:
  explicit FrameRun(const FrameSetup& setup)
      : cfg_{frame_config(setup)},
        rx_{.checksum_trusted = setup.rx_trusted},
        stack_{cfg_, stats_, isn_} {
    stack_.start(now_);
    const std::array<std::pair<std::uint16_t, service::Kind>, 4> ports{{
        {3333, service::Kind::Echo},
        {9, service::Kind::Discard},
        {19, service::Kind::Chargen},
        {8080, service::Kind::Http},
    }};
    for (const auto& [port, kind] : ports) {
      factories_.push_back(service::make_factory(kind));
      stack_.listen(now_, port, *factories_.back());
    }
    drain();
  }

  void frame(wire::Bytes bytes, bool as_is) {
    // A copy of exactly the frame's size, so AddressSanitizer catches a read past its end.
    std::vector<std::byte> copy(bytes.begin(), bytes.end());
    if (!as_is) { fix_checksums(copy); }
    stack_.on_frame(now_, copy, rx_);
    // Every frame is one drop or delivered: rx_frames = sum(drops) + rx_delivered.
    require(stats_.frames_add_up(), "frames do not add up: rx_frames",
            static_cast<long long>(stats_.get(Counter::RxFrames)));
    drain();
  }

  void advance(Duration d) {
    advance_clock(
        now_, d, kMaxTimerRuns, [&] { return stack_.next_deadline(); }, [&] { timers(); });
  }

  RunSummary finish() {
    advance(1h);
    stack_.shutdown(now_);
    drain();
    require(stack_.tcp().connection_count() == 0, "connections left after shutdown");
    require(stats_.get(Counter::InternalBug) == 0, "internal bug counted");
    return RunSummary{
        .established = stats_.get(Counter::TcpConnectionsEstablished),
        .bytes_sent = stats_.get(Counter::TcpBytesSent),
        .replies = stats_.get(Counter::ArpRequestsAnswered) + stats_.get(Counter::IcmpEchoReplies),
        .tso_frames = tso_frames_};
  }

 private:
  void timers() {
    stack_.on_timers(now_);
    drain();
    // A deadline at or before now would make the event loop spin without waiting.
    const auto next = stack_.next_deadline();
    require(!next || *next > now_, "next_deadline() not after now once on_timers() ran",
            next ? (*next - now_).count() : 0);
  }

  void drain() {
    auto& tx = stack_.tx();
    for (std::size_t i = 0; i < tx.size(); ++i) {
      check_frame(tx[i], tx.offload(i), cfg_, stack_.tcp());
      if (tx.offload(i).gso_size != 0) { ++tso_frames_; }
      stack_.count_tx(i, true);
    }
    tx.clear();
  }

  StackConfig cfg_;
  RxOffload rx_;
  Stats stats_;
  tcp::FixedIsn isn_{kFrameIss};
  Stack stack_;
  Instant now_{};
  std::vector<std::unique_ptr<tcp::HandlerFactory>> factories_;
  std::uint64_t tso_frames_ = 0;
};

}  // namespace

RunSummary run_frame_chunks(FuzzInput& in, const FrameSetup& setup) {
  FrameRun run{setup};
  while (!in.empty()) {
    const std::uint16_t len = in.be16();
    run.advance(time_step(in.u8()));
    run.frame(in.take(len & 0x7fffU), (len & 0x8000U) != 0);
  }
  return run.finish();
}

}  // namespace tapsrv::fuzz
