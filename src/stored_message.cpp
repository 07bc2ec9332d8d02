#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/stored_message.hpp>

namespace natscoro::detail {

void fetch_stored_message(const connection& conn, const std::string& api_prefix, const std::string& stream,
                          std::uint64_t sequence, stored_message_operation::handler_type handler) {
  auto op = stored_message_operation::create(std::move(handler), conn.get_executor());
  const auto& core = conn.core();
  if (!core) return void(op->complete(make_error_code(errc::not_connected), nullptr));
  core->on_blocking_pool([op, api_prefix, stream, sequence, nc = conn.native_handle()](connection_core&) {
    jsOptions opts;
    jsOptions_Init(&opts);
    opts.Prefix = api_prefix.c_str();
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, nc, &opts);
    natsMsg* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (s == NATS_OK) s = js_GetMsg(&raw, js, stream.c_str(), sequence, nullptr, &code);
    jsCtx_Destroy(js);
    nats_msg_ptr msg(raw);
    if (s == NATS_OK) return void(op->complete({}, std::move(msg)));
    if (code != 0) return void(op->complete(jetstream_error(static_cast<int>(code)), nullptr));
    op->complete(s == NATS_CONNECTION_CLOSED ? make_error_code(errc::not_connected) : nats_error(s), nullptr);
  });
}

}  // namespace natscoro::detail
