// The application services a port can offer: echo (RFC 862), discard (RFC 863), chargen
// (RFC 864) and a tiny HTTP/1.1 responder (RFC 9112) that closes the connection itself.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "tapsrv/tcp/handler.hpp"

namespace tapsrv::service {

enum class Kind : std::uint8_t { Echo, Discard, Chargen, Http };

[[nodiscard]] std::optional<Kind> parse_kind(std::string_view name) noexcept;
[[nodiscard]] std::string_view name(Kind k) noexcept;
/// A factory that makes one handler of `k` per connection.
[[nodiscard]] std::unique_ptr<tcp::HandlerFactory> make_factory(Kind k);

}  // namespace tapsrv::service
