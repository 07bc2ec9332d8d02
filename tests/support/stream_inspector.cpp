#include "stream_inspector.hpp"

#include <natscoro/detail/nats_message.hpp>

#include <nats/nats.h>

#include <stdexcept>
#include <vector>

namespace natscoro::test {

stream_inspector::stream_inspector(const std::string& url, const std::string& user, const std::string& password) {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<std::string> urls;  // several, comma-separated, for a cluster
  for (std::size_t start = 0; start <= url.size();) {
    const auto comma = url.find(',', start);
    urls.push_back(url.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 50);
  if (s == NATS_OK && !user.empty()) s = natsOptions_SetUserInfo(opts, user.c_str(), password.c_str());
  if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) throw std::runtime_error("inspector: cannot connect to " + url);
  if (natsConnection_JetStream(&js_, nc_, nullptr) != NATS_OK)
    throw std::runtime_error("inspector: no JetStream context");
}

stream_inspector::~stream_inspector() {
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

std::uint64_t stream_inspector::publish(const std::string& subject, const std::string& data,
                                        const std::vector<std::pair<std::string, std::string>>& headers) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  for (const auto& [name, value] : headers)
    if (s == NATS_OK) s = natsMsgHeader_Add(msg, name.c_str(), value.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode code{};
  if (s == NATS_OK) s = js_PublishMsg(&ack, js_, msg, nullptr, &code);
  natsMsg_Destroy(msg);
  if (s != NATS_OK)
    throw std::runtime_error("inspector: publish to " + subject + " failed: " + natsStatus_GetText(s) +
                             " (JetStream error " + std::to_string(code) + ")");
  const std::uint64_t sequence = ack->Sequence;
  jsPubAck_Destroy(ack);
  return sequence;
}

std::string stream_inspector::leader(const std::string& name) {
  jsStreamInfo* si = nullptr;
  jsErrCode code{};
  jsOptions opts;
  jsOptions_Init(&opts);
  opts.Wait = 500;  // asked in a loop while the cluster elects
  if (js_GetStreamInfo(&si, js_, name.c_str(), &opts, &code) != NATS_OK) return {};
  std::string out = si->Cluster != nullptr && si->Cluster->Leader != nullptr ? si->Cluster->Leader : "";
  jsStreamInfo_Destroy(si);
  return out;
}

std::optional<stream_inspector::state> stream_inspector::stream(const std::string& name) {
  jsStreamInfo* si = nullptr;
  jsErrCode code{};
  if (js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &code) != NATS_OK) return std::nullopt;
  state s{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return s;
}

std::optional<stream_inspector::consumer_state> stream_inspector::consumer(const std::string& stream,
                                                                           const std::string& name) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode code{};
  if (js_GetConsumerInfo(&ci, js_, stream.c_str(), name.c_str(), nullptr, &code) != NATS_OK) return std::nullopt;
  consumer_state s{static_cast<std::uint64_t>(ci->NumAckPending), ci->NumPending,
                   static_cast<std::uint64_t>(ci->NumRedelivered)};
  jsConsumerInfo_Destroy(ci);
  return s;
}

bool stream_inspector::delete_stream(const std::string& name) {
  jsErrCode code{};
  return js_DeleteStream(js_, name.c_str(), nullptr, &code) == NATS_OK;
}

std::string stream_inspector::stored_message::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::map<std::string, int> stream_inspector::message_ids(const std::string& name) {
  std::map<std::string, int> ids;
  const auto state = stream(name);
  if (!state) return ids;
  for (std::uint64_t seq = state->first_sequence; seq != 0 && seq <= state->last_sequence; ++seq)
    if (const auto m = message(name, seq)) ++ids[m->header("Nats-Msg-Id")];
  return ids;
}

std::optional<stream_inspector::stored_message> stream_inspector::message(const std::string& stream,
                                                                          std::uint64_t sequence) {
  natsMsg* raw = nullptr;
  jsErrCode code{};
  if (js_GetMsg(&raw, js_, stream.c_str(), sequence, nullptr, &code) != NATS_OK) return std::nullopt;
  detail::nats_msg_ptr msg(raw);
  stored_message out;
  out.subject = natsMsg_GetSubject(raw);
  out.headers = detail::message_headers(raw);
  out.data = std::string(detail::message_data(raw));
  return out;
}

}  // namespace natscoro::test
