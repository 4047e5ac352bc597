// Interim: NewReno for every kind until the algorithms land (replaced by the cc branch).
#include "tapsrv/tcp/congestion.hpp"

#include <algorithm>

namespace tapsrv::tcp {

namespace {

class Reno final : public CongestionControl {
 public:
  Reno(std::uint32_t mss, std::uint32_t initial) : mss_{mss}, cwnd_{initial} {}
  [[nodiscard]] CcKind kind() const noexcept override { return CcKind::Reno; }
  void on_ack(const AckSample& s) noexcept override {
    if (s.in_recovery) { return; }
    constexpr std::uint32_t kMaxCwnd = 1U << 30;
    if (cwnd_ < ssthresh_) {
      cwnd_ = std::min(cwnd_ + std::min(s.acked, kMaxCwnd), kMaxCwnd);
      return;
    }
    acked_ += s.acked;
    if (acked_ >= cwnd_) {
      acked_ -= cwnd_;
      cwnd_ = std::min(cwnd_ + mss_, kMaxCwnd);
    }
  }
  void on_congestion(Instant, std::uint32_t) noexcept override {
    prior_cwnd_ = cwnd_;
    prior_ssthresh_ = ssthresh_;
    ssthresh_ = std::max(cwnd_ / 2, 2 * mss_);
  }
  void on_recovery_end(Instant) noexcept override { cwnd_ = ssthresh_; }
  void on_rto(Instant now, std::uint32_t in_flight) noexcept override {
    on_congestion(now, in_flight);
    cwnd_ = mss_;
  }
  void on_undo() noexcept override {
    cwnd_ = std::max(cwnd_, prior_cwnd_);
    ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
  }
  void on_idle_restart(Instant) noexcept override {}
  [[nodiscard]] std::uint32_t cwnd() const noexcept override { return cwnd_; }
  [[nodiscard]] std::uint32_t ssthresh() const noexcept override { return ssthresh_; }

 private:
  std::uint32_t mss_;
  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = 0xffffffffU;
  std::uint32_t acked_ = 0;
  std::uint32_t prior_cwnd_ = 0;
  std::uint32_t prior_ssthresh_ = 0;
};

}  // namespace

std::optional<CcKind> parse_cc_kind(std::string_view n) noexcept {
  if (n == "reno") { return CcKind::Reno; }
  if (n == "cubic") { return CcKind::Cubic; }
  if (n == "bbr") { return CcKind::Bbr; }
  return std::nullopt;
}

std::string_view name(CcKind kind) noexcept {
  switch (kind) {
    case CcKind::Reno: return "reno";
    case CcKind::Cubic: return "cubic";
    case CcKind::Bbr: return "bbr";
  }
  return "?";
}

std::unique_ptr<CongestionControl> make_congestion_control(CcKind, std::uint32_t mss,
                                                           std::uint32_t initial_cwnd) {
  return std::make_unique<Reno>(mss, initial_cwnd);
}

}  // namespace tapsrv::tcp
