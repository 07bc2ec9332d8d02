#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace natscoro {
namespace json = boost::json;
namespace {

using ensure_operation = detail::pending_operation<void(error_code, ensure_result)>;

std::vector<std::string> sorted_subjects(const json::value& info) {
  std::vector<std::string> out;
  const auto* cfg = info.as_object().if_contains("config");
  const auto* subjects = cfg && cfg->is_object() ? cfg->as_object().if_contains("subjects") : nullptr;
  if (subjects && subjects->is_array())
    for (const auto& s : subjects->as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

std::string description_of(const json::value& reply) {
  std::string d;
  detail::api_error(reply, d);
  return d;
}

}  // namespace

jetstream::jetstream(connection conn) : jetstream(std::move(conn), options{}) {}

jetstream::jetstream(connection conn, options opts)
    : conn_(std::move(conn)),
      opts_(std::move(opts)),
      api_(std::make_shared<detail::api_client>(conn_, opts_.api_prefix, opts_.timeout)) {}

void jetstream::async_ensure_stream(stream_config cfg,
                                    boost::asio::any_completion_handler<void(error_code, ensure_result)> h) {
  auto op = ensure_operation::create(std::move(h), conn_.get_executor());
  if (!detail::valid_stream_name(cfg.name)) {
    logger()->error("ensure_stream: invalid stream name \"{}\"", cfg.name);
    op->complete(make_error_code(errc::invalid_argument), ensure_result::unchanged);
    return;
  }
  auto api = api_;
  api_->request("STREAM.INFO." + cfg.name, "",
                [api, op, cfg = std::move(cfg)](error_code ec, json::value info) mutable {
                  if (ec == jetstream_errc::stream_not_found) {
                    const std::string body = json::serialize(detail::to_json(cfg));
                    api->request("STREAM.CREATE." + cfg.name, body, [op, name = cfg.name](error_code ec, json::value r) {
                      if (ec) {
                        logger()->error("creating stream {} failed: {} ({})", name, ec.message(), description_of(r));
                        op->complete(ec, ensure_result::unchanged);
                        return;
                      }
                      logger()->info("created stream {}", name);
                      op->complete({}, ensure_result::created);
                    });
                    return;
                  }
                  if (ec) {
                    logger()->error("stream info for {} failed: {} ({})", cfg.name, ec.message(), description_of(info));
                    op->complete(ec, ensure_result::unchanged);
                    return;
                  }
                  auto wanted = cfg.subjects;
                  std::sort(wanted.begin(), wanted.end());
                  const auto existing = sorted_subjects(info);
                  if (existing != wanted) {
                    logger()->error("stream {} exists with subjects {}, not {}", cfg.name, joined(existing),
                                    joined(wanted));
                    op->complete(make_error_code(jetstream_errc::stream_name_in_use), ensure_result::unchanged);
                    return;
                  }
                  logger()->debug("stream {} exists", cfg.name);
                  op->complete({}, ensure_result::unchanged);
                });
}

}  // namespace natscoro
