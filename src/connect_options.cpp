#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/native_options.hpp>
#include <natscoro/logging.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <vector>

namespace natscoro::detail {
namespace {

bool is_tls_url(const std::string& url) { return url.rfind("tls://", 0) == 0; }

// Collects the first failure of a sequence of nats.c option calls with the name of the option.
class option_setter {
 public:
  explicit option_setter(native_options_result& result) : result_(result) {}

  void operator()(const char* option, natsStatus status) {
    if (status == NATS_OK || result_.error) return;
    result_.error = nats_error(status);
    result_.detail = std::string("option '") + option + "' refused: " + natsStatus_GetText(status);
    if (auto text = last_nats_error_text(); !text.empty()) result_.detail += " (" + text + ")";
  }

  bool failed() const { return static_cast<bool>(result_.error); }

 private:
  native_options_result& result_;
};

native_options_result invalid(std::string detail) {
  native_options_result r;
  r.error = make_error_code(errc::invalid_argument);
  r.detail = std::move(detail);
  return r;
}

native_options_result invalid_url(std::string detail) {
  native_options_result r;
  r.error = make_error_code(errc::invalid_url);
  r.detail = std::move(detail);
  return r;
}

}  // namespace

std::string check_server_url(std::string_view url) {
  const auto quoted = [&] { return "server URL \"" + printable(redact_credentials(url)) + "\""; };
  if (url.empty()) return "a server URL is empty";
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; }))
    return quoted() + " has a space or a control character";
  std::string_view rest = url;
  if (const auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const auto scheme = rest.substr(0, scheme_end);
    if (scheme != "nats" && scheme != "tls")
      return quoted() + ": the scheme \"" + printable(scheme) + "\" is not nats:// or tls://";
    rest.remove_prefix(scheme_end + 3);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (rest.find('/') != std::string_view::npos) return quoted() + " has a path; a server URL has none";
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return quoted() + ": '[' without ']'";
    host = rest.substr(0, close + 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') return quoted() + ": something after the IPv6 address";
    if (!after.empty()) port = after.substr(1);
    if (host.size() == 2) host = {};
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return quoted() + " ends in ':' without a port";
  }
  if (host.empty()) return quoted() + " has no host";
  if (!port.empty()) {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535)
        return quoted() + ": the port \"" + printable(port) + "\" is not 1 to 65535";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return quoted() + ": the port " + std::string(port) + " is not 1 to 65535";
  }
  return {};
}

std::string last_nats_error_text() {
  natsStatus status = NATS_OK;
  const char* text = nats_GetLastError(&status);
  return (status != NATS_OK && text != nullptr) ? std::string(text) : std::string();
}

native_options_result make_native_options(const connect_options& opts, const native_callbacks& callbacks) {
  using std::chrono::milliseconds;
  if (opts.servers.empty()) return invalid("connect_options::servers is empty");
  if (std::any_of(opts.servers.begin(), opts.servers.end(), [](const auto& s) { return s.empty(); }))
    return invalid("connect_options::servers holds an empty URL");
  for (const auto& url : opts.servers)
    if (auto problem = check_server_url(url); !problem.empty())
      return invalid_url("connect_options::servers: " + problem);
  if (opts.connect_timeout <= milliseconds::zero()) return invalid("connect_options::connect_timeout must be positive");
  if (opts.write_deadline <= milliseconds::zero()) return invalid("connect_options::write_deadline must be positive");
  if (opts.reconnect.wait < milliseconds::zero()) return invalid("connect_options::reconnect.wait is negative");
  if (opts.ping_interval <= milliseconds::zero()) return invalid("connect_options::ping_interval must be positive");
  if (opts.tls.cert_file.empty() != opts.tls.key_file.empty())
    return invalid("connect_options::tls needs both cert_file and key_file, or neither");
  if (opts.nkey_seed_file.empty() != opts.nkey_public.empty())
    return invalid("connect_options needs both nkey_public and nkey_seed_file, or neither");
  // nats.c reads these files only while connecting, and then says "Error" or "SSL error"
  // about a missing one: name the file now.
  for (const auto& [option, path] : {std::pair{"credentials_file", &opts.credentials_file},
                                     {"nkey_seed_file", &opts.nkey_seed_file},
                                     {"tls.ca_file", &opts.tls.ca_file},
                                     {"tls.cert_file", &opts.tls.cert_file},
                                     {"tls.key_file", &opts.tls.key_file}}) {
    if (path->empty()) continue;
    if (std::ifstream file(*path); !file)
      return invalid("connect_options::" + std::string(option) + " \"" + *path + "\" cannot be read (" +
                     std::strerror(errno) + ")");
  }

  native_options_result result;
  natsOptions* raw = nullptr;
  if (auto s = natsOptions_Create(&raw); s != NATS_OK) {
    result.error = nats_error(s);
    result.detail = "cannot create nats.c options";
    return result;
  }
  result.options.reset(raw);
  option_setter set(result);

  std::vector<const char*> urls;
  for (const auto& s : opts.servers) urls.push_back(s.c_str());
  set("servers", natsOptions_SetServers(raw, urls.data(), static_cast<int>(urls.size())));
  if (!opts.name.empty()) set("name", natsOptions_SetName(raw, opts.name.c_str()));
  if (!opts.user.empty() || !opts.password.empty())
    set("user", natsOptions_SetUserInfo(raw, opts.user.c_str(), opts.password.c_str()));
  if (!opts.token.empty()) set("token", natsOptions_SetToken(raw, opts.token.c_str()));
  if (!opts.credentials_file.empty())
    set("credentials_file", natsOptions_SetUserCredentialsFromFiles(raw, opts.credentials_file.c_str(), nullptr));
  if (!opts.nkey_seed_file.empty())
    set("nkey_seed_file", natsOptions_SetNKeyFromSeed(raw, opts.nkey_public.c_str(), opts.nkey_seed_file.c_str()));

  const bool tls = opts.tls.enabled || std::any_of(opts.servers.begin(), opts.servers.end(), is_tls_url);
  if (tls) {
    set("tls", natsOptions_SetSecure(raw, true));
    if (!opts.tls.ca_file.empty())
      set("tls.ca_file", natsOptions_LoadCATrustedCertificates(raw, opts.tls.ca_file.c_str()));
    if (!opts.tls.cert_file.empty())
      set("tls.cert_file",
          natsOptions_LoadCertificatesChain(raw, opts.tls.cert_file.c_str(), opts.tls.key_file.c_str()));
    if (!opts.tls.expected_hostname.empty())
      set("tls.expected_hostname", natsOptions_SetExpectedHostname(raw, opts.tls.expected_hostname.c_str()));
    if (opts.tls.skip_verification) {
      logger()->warn(
          "TLS: the server's certificate is not verified (tls.skip_verification): anyone on the path "
          "can pose as the server");
      set("tls.skip_verification", natsOptions_SkipServerVerification(raw, true));
    }
  }

  set("connect_timeout", natsOptions_SetTimeout(raw, opts.connect_timeout.count()));
  set("write_deadline", natsOptions_SetWriteDeadline(raw, opts.write_deadline.count()));
  set("reconnect.allowed", natsOptions_SetAllowReconnect(raw, opts.reconnect.allowed));
  set("reconnect.max_attempts", natsOptions_SetMaxReconnect(raw, opts.reconnect.max_attempts));
  set("reconnect.wait", natsOptions_SetReconnectWait(raw, opts.reconnect.wait.count()));
  set("reconnect.jitter",
      natsOptions_SetReconnectJitter(raw, opts.reconnect.jitter.count(), opts.reconnect.jitter_tls.count()));
  set("reconnect.buffer_size", natsOptions_SetReconnectBufSize(raw, static_cast<int>(opts.reconnect.buffer_size)));
  set("ping_interval", natsOptions_SetPingInterval(raw, opts.ping_interval.count()));
  set("max_pings_out", natsOptions_SetMaxPingsOut(raw, opts.max_pings_out));
  set("no_echo", natsOptions_SetNoEcho(raw, opts.no_echo));
  set("send_asap", natsOptions_SetSendAsap(raw, opts.send_asap));
  // One shared delivery pool for all subscriptions instead of a thread each.
  set("global message delivery", natsOptions_UseGlobalMessageDelivery(raw, true));

  set("disconnected callback", natsOptions_SetDisconnectedCB(raw, callbacks.disconnected, callbacks.closure));
  set("reconnected callback", natsOptions_SetReconnectedCB(raw, callbacks.reconnected, callbacks.closure));
  set("closed callback", natsOptions_SetClosedCB(raw, callbacks.closed, callbacks.closure));
  set("lame duck callback", natsOptions_SetLameDuckModeCB(raw, callbacks.lame_duck, callbacks.closure));
  set("error handler", natsOptions_SetErrorHandler(raw, callbacks.error, callbacks.closure));
  if (opts.retry_on_failed_connect)
    set("retry_on_failed_connect",
        natsOptions_SetRetryOnFailedConnect(raw, true, callbacks.connected, callbacks.closure));

  if (set.failed()) result.options.reset();
  return result;
}

}  // namespace natscoro::detail
