#include "nats_server.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace natscoro::test {
namespace {

class socket_fd {
 public:
  socket_fd() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~socket_fd() { ::close(fd_); }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Connects to 127.0.0.1:port, sends `request` (if any) and returns what the peer sent until
// it closed or, with `first_line_only`, until the first line.
bool exchange(int port, const std::string& request, bool first_line_only, std::string& reply) {
  socket_fd s;
  timeval tv{2, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto addr = loopback(port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  if (!request.empty() && ::send(s.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (first_line_only && reply.find('\n') != std::string::npos) break;
  }
  return !reply.empty();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int free_port() {
  socket_fd s;
  auto addr = loopback(0);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "natscoro-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

nats_server::nats_server(server_config cfg, int port)
    : cfg_(std::move(cfg)), port_(port != 0 ? port : free_port()), http_port_(free_port()) {
  for (int attempt = 1;; ++attempt) {
    write_config();
    try {
      start();
      return;
    } catch (const std::runtime_error& e) {
      // Another process can take a port between free_port() and the server's bind
      // (tests run in parallel): choose again, a few times.
      if (attempt == 5 || std::string(e.what()).find("address already in use") == std::string::npos) throw;
      if (port == 0) port_ = free_port();
      http_port_ = free_port();
    }
  }
}

nats_server::~nats_server() {
  try {
    stop();
  } catch (...) {
  }
}

std::string nats_server::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

void nats_server::write_config() const {
  std::ofstream conf(dir_.path() / "server.conf");
  conf << "server_name: " << cfg_.name << "\n"
       << "listen: 127.0.0.1:" << port_ << "\n"
       << "http: 127.0.0.1:" << http_port_ << "\n";
  if (cfg_.jetstream) conf << "jetstream { store_dir: \"" << (dir_.path() / "store").string() << "\" }\n";
  if (!cfg_.cluster_name.empty()) {
    conf << "cluster {\n  name: " << cfg_.cluster_name << "\n  listen: 127.0.0.1:" << cfg_.cluster_port
         << "\n  routes: [\n";
    for (int p : cfg_.route_ports)
      if (p != cfg_.cluster_port) conf << "    nats-route://127.0.0.1:" << p << "\n";
    conf << "  ]\n}\n";
  }
  conf << cfg_.extra << "\n";
}

void nats_server::start() {
  if (running()) return;
  const std::string conf = (dir_.path() / "server.conf").string();
  const std::string log = (dir_.path() / "server.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const char* argv[] = {"nats-server", "-c", conf.c_str(), nullptr};
  const int rc = posix_spawnp(&pid_, "nats-server", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error(std::string("cannot start nats-server: ") + std::strerror(rc));
  }
  wait_until_accepting(std::chrono::seconds(20));
}

void nats_server::wait_until_accepting(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("nats-server exited at start-up:\n" + read_file(dir_.path() / "server.log"));
    }
    std::string greeting;
    if (exchange(port_, "", true, greeting) && greeting.rfind("INFO", 0) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  throw std::runtime_error("nats-server did not accept clients in time:\n" + read_file(dir_.path() / "server.log"));
}

void nats_server::reap(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void nats_server::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void nats_server::pause() {
  if (!running()) return;
  ::kill(pid_, SIGSTOP);
  // kill() returns before every thread has stopped (a thread running on another
  // CPU stops when it is interrupted): wait until each reports state 'T', so
  // that nothing the test sends next is answered.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid_) + "/task";
  for (;;) {
    bool all_stopped = true;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      const std::string stat = read_file(task.path() / "stat");
      const auto close = stat.rfind(')');  // "pid (comm) S ...": the state follows the name
      if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') all_stopped = false;
    }
    if (all_stopped && !ec) return;
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("nats-server did not stop on SIGSTOP");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void nats_server::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

void nats_server::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  reap(std::chrono::seconds(10));
}

void nats_server::restart_after_kill() {
  kill();
  start();
}

std::string nats_server::monitor(const std::string& path) const {
  std::string reply;
  if (!exchange(http_port_, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", false, reply)) return {};
  const auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : reply.substr(body + 4);
}

nats_cluster::nats_cluster() {
  std::vector<int> routes;
  for (int i = 0; i < size; ++i) routes.push_back(free_port());
  // Every node is started before any waits for the others: JetStream needs a quorum to elect a leader.
  for (int i = 0; i < size; ++i) {
    server_config cfg;
    cfg.name = "n" + std::to_string(i + 1);
    cfg.cluster_name = "natscoro-test";
    cfg.cluster_port = routes[static_cast<std::size_t>(i)];
    cfg.route_ports = routes;
    nodes_.push_back(std::make_unique<nats_server>(cfg));
  }
}

std::vector<std::string> nats_cluster::urls() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n->url());
  return out;
}

int nats_cluster::index_of(const std::string& url) const {
  for (int i = 0; i < size; ++i)
    if (nodes_[static_cast<std::size_t>(i)]->url() == url ||
        url.find(":" + std::to_string(nodes_[static_cast<std::size_t>(i)]->port())) != std::string::npos)
      return i;
  return -1;
}

void nats_cluster::wait_for_meta_leader(std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all_know = true;
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      boost::system::error_code ec;
      auto jsz = boost::json::parse(n->monitor("/jsz"), ec);
      const auto* meta = ec ? nullptr : jsz.as_object().if_contains("meta_cluster");
      const auto* leader = meta && meta->is_object() ? meta->as_object().if_contains("leader") : nullptr;
      if (leader == nullptr || !leader->is_string() || leader->as_string().empty()) all_know = false;
    }
    if (all_know) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("the cluster elected no JetStream meta leader in time");
}

}  // namespace natscoro::test
