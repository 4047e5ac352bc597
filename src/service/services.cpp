#include "tapsrv/service/services.hpp"

#include <array>

#include "service/handlers.hpp"

namespace tapsrv::service {
namespace {

constexpr std::array<std::pair<std::string_view, Kind>, 4> kNames = {{
    {"echo", Kind::Echo},
    {"discard", Kind::Discard},
    {"chargen", Kind::Chargen},
    {"http", Kind::Http},
}};

template <class Handler>
class FactoryOf final : public tcp::HandlerFactory {
 public:
  std::unique_ptr<tcp::ConnectionHandler> make(const tcp::FourTuple& id) override {
    return std::make_unique<Handler>(id);
  }
};

}  // namespace

std::optional<Kind> parse_kind(std::string_view n) noexcept {
  for (const auto& [text, kind] : kNames) {
    if (text == n) { return kind; }
  }
  return std::nullopt;
}

std::string_view name(Kind k) noexcept {
  for (const auto& [text, kind] : kNames) {
    if (kind == k) { return text; }
  }
  return "?";
}

std::unique_ptr<tcp::HandlerFactory> make_factory(Kind k) {
  switch (k) {
    case Kind::Echo: return std::make_unique<FactoryOf<Echo>>();
    case Kind::Discard: return std::make_unique<FactoryOf<Discard>>();
    case Kind::Chargen: return std::make_unique<FactoryOf<Chargen>>();
    case Kind::Http: return std::make_unique<FactoryOf<Http>>();
  }
  return nullptr;
}

}  // namespace tapsrv::service
