// A publisher's subject template ("orders.{subject}.{type}"): the NATS subject
// built from the event, so that the entity key can live in a token of its own
// (per-key ordering with key_by_subject_token, partition() mappings). No I/O.
#pragma once

#include <natscoro/error.hpp>
#include <natscoro/event.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace natscoro::detail {

class subject_template {
 public:
  /// Parses `text`. Placeholders: {type} (may span tokens: "order.created"),
  /// {subject} (the CloudEvents subject: the entity key), {organization}, and
  /// {<extension name>}; each but {type} fills exactly one token. errc::invalid_argument
  /// with `detail` for an unknown or unclosed placeholder, or literal text that
  /// cannot be part of a subject.
  static error_code parse(std::string_view text, subject_template& out, std::string& detail);

  bool empty() const noexcept { return parts_.empty(); }

  /// The subject for `evt`. errc::invalid_subject with `detail` naming the
  /// placeholder when its value is missing or cannot be a token (empty, a '.',
  /// a wildcard, white space).
  error_code render(const event& evt, std::string& out, std::string& detail) const;

 private:
  struct part {
    bool placeholder = false;
    std::string text;  ///< literal text, or the placeholder's name
  };
  std::vector<part> parts_;
};

}  // namespace natscoro::detail
