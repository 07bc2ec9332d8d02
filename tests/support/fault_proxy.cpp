#include "fault_proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <list>
#include <random>
#include <thread>

namespace natscoro::test {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// The faults in force, read by every pump on the proxy's thread.
struct fault_state {
  steady::time_point hole_until{};
  std::size_t bytes_per_second = 0;
};

// One client connection and its connection to the server; two pumps, one per direction.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket client, tcp::socket server, const fault_state& faults)
      : client_(std::move(client)), server_(std::move(server)), faults_(faults) {}

  void start() {
    pump(client_, server_, up_);
    pump(server_, client_, down_);
  }

  void cut() {
    boost::system::error_code ignored;
    client_.close(ignored);
    server_.close(ignored);
  }

  bool open() const { return client_.is_open() && server_.is_open(); }

 private:
  struct direction {
    std::array<char, 16 * 1024> buffer;
    std::size_t held = 0;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void pump(tcp::socket& from, tcp::socket& to, direction& d) {
    const std::size_t rate = faults_.bytes_per_second;
    const std::size_t chunk =
        rate == 0 ? d.buffer.size() : std::max<std::size_t>(1, std::min(d.buffer.size(), rate / 20));
    from.async_read_some(asio::buffer(d.buffer.data(), chunk),
                         [self = shared_from_this(), &from, &to, &d](boost::system::error_code ec, std::size_t n) {
                           if (ec) return self->cut();
                           d.held = n;
                           self->forward(from, to, d);
                         });
  }

  // Waits out a black hole, writes what was read, then (trickling) waits before reading on.
  void forward(tcp::socket& from, tcp::socket& to, direction& d) {
    if (!d.timer) d.timer = std::make_unique<asio::steady_timer>(client_.get_executor());
    if (steady::now() < faults_.hole_until) {
      d.timer->expires_at(faults_.hole_until);
      return d.timer->async_wait([self = shared_from_this(), &from, &to, &d](boost::system::error_code) {
        if (!self->open()) return;
        self->forward(from, to, d);
      });
    }
    asio::async_write(to, asio::buffer(d.buffer.data(), d.held),
                      [self = shared_from_this(), &from, &to, &d](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->cut();
                        if (self->faults_.bytes_per_second == 0) return self->pump(from, to, d);
                        d.timer->expires_after(std::chrono::milliseconds(50));
                        d.timer->async_wait([self, &from, &to, &d](boost::system::error_code) {
                          if (self->open()) self->pump(from, to, d);
                        });
                      });
  }

  tcp::socket client_;
  tcp::socket server_;
  const fault_state& faults_;
  direction up_, down_;
};

}  // namespace

struct fault_proxy::impl {
  explicit impl(int target) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), target_port(target) {
    accept();
    thread = std::thread([this] { io.run(); });
  }
  ~impl() {
    asio::post(io, [this] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
      cutting = false;
      if (cut_timer) cut_timer->cancel();
      cut_sessions(false);
    });
    io.stop();
    thread.join();
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket client) {
      if (ec) return;
      ++accepted;
      auto upstream = std::make_shared<tcp::socket>(io);
      auto client_ptr = std::make_shared<tcp::socket>(std::move(client));
      upstream->async_connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(target_port)),
          [this, upstream, client_ptr](boost::system::error_code ec) {
            if (ec) return;  // the server is down: the client's socket closes
            auto s = std::make_shared<session>(std::move(*client_ptr), std::move(*upstream), faults);
            sessions.push_back(s);
            s->start();
          });
      accept();
    });
  }

  void cut_sessions(bool count) {
    for (auto& weak : sessions)
      if (auto s = weak.lock(); s && s->open()) {
        s->cut();
        if (count) ++cut;
      }
    sessions.clear();
  }

  void schedule_cut() {
    if (!cutting) return;
    std::uniform_int_distribution<long> pick(cut_min.count(), cut_max.count());
    cut_timer->expires_after(std::chrono::milliseconds(pick(random)));
    cut_timer->async_wait([this](boost::system::error_code ec) {
      if (ec || !cutting) return;
      cut_sessions(true);
      schedule_cut();
    });
  }

  asio::io_context io;
  tcp::acceptor acceptor;
  int target_port;
  fault_state faults;
  std::list<std::weak_ptr<session>> sessions;
  std::unique_ptr<asio::steady_timer> cut_timer;
  bool cutting = false;
  std::chrono::milliseconds cut_min{}, cut_max{};
  std::mt19937 random{12345};
  std::atomic<std::uint64_t> accepted{0}, cut{0};
  std::thread thread;
};

fault_proxy::fault_proxy(int target_port) : impl_(std::make_unique<impl>(target_port)) {}
fault_proxy::~fault_proxy() = default;

int fault_proxy::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }
std::string fault_proxy::url() const { return "nats://127.0.0.1:" + std::to_string(port()); }

void fault_proxy::cut_all() {
  asio::post(impl_->io, [i = impl_.get()] { i->cut_sessions(true); });
}

void fault_proxy::cut_randomly(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  asio::post(impl_->io, [i = impl_.get(), min, max] {
    i->cut_min = min;
    i->cut_max = max;
    if (!i->cut_timer) i->cut_timer = std::make_unique<asio::steady_timer>(i->io);
    i->cutting = true;
    i->schedule_cut();
  });
}

void fault_proxy::stop_cutting() {
  asio::post(impl_->io, [i = impl_.get()] {
    i->cutting = false;
    if (i->cut_timer) i->cut_timer->cancel();
  });
}

void fault_proxy::black_hole(std::chrono::milliseconds duration) {
  asio::post(impl_->io, [i = impl_.get(), duration] { i->faults.hole_until = steady::now() + duration; });
}

void fault_proxy::trickle(std::size_t bytes_per_second) {
  asio::post(impl_->io, [i = impl_.get(), bytes_per_second] { i->faults.bytes_per_second = bytes_per_second; });
}

std::uint64_t fault_proxy::connections_accepted() const noexcept { return impl_->accepted.load(); }
std::uint64_t fault_proxy::connections_cut() const noexcept { return impl_->cut.load(); }

}  // namespace natscoro::test
