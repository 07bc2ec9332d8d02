// The baseline: each workload written directly against nats.c 3.4.1, the way
// its documentation and examples use it (js_PublishAsync with
// PublishAsync.MaxPending, js_Publish, js_PullSubscribe + natsSubscription_Fetch,
// natsMsg_Ack), with SendAsap where latency is measured (B, D). No natscoro, no Asio.
//
// Two jobs: the minimal one (256 bytes of payload, no header) and, with
// --same-job, the job natscoro does (A, C, E): the bytes natscoro stores, a
// structured CloudEvent encoded once, with its Content-Type and a unique
// Nats-Msg-Id header per message (js_PublishMsgAsync).
//
//   raw_nats_bench fill|run A-L [--server URL] [--quick] [--same-job]
#include "bench_common.hpp"

#include <nats/nats.h>

#include <memory>
#include <vector>

namespace {

using bench::workload;

/// A structured CloudEvent as natscoro encodes it for the benchmark's event: the
/// same attributes, lengths and data.
std::string cloud_event_body() {
  boost::json::object e;
  e["specversion"] = "1.0";
  e["id"] = "2f1d5c3e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
  e["source"] = "natscoro-bench";
  e["type"] = "bench.created";
  e["time"] = "2026-01-01T00:00:00.000000Z";
  e["datacontenttype"] = "application/json";
  e["organizationid"] = "org-1";
  e["schemaversion"] = "1.0";
  e["data"] = std::string(bench::payload_bytes - 2, 'x');
  return boost::json::serialize(e);
}

[[noreturn]] void fail(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  throw std::runtime_error(what + ": " + natsStatus_GetText(s) +
                           (jerr != 0 ? " (JetStream error " + std::to_string(jerr) + ")" : "") + " " +
                           nats_GetLastError(nullptr));
}

void check(natsStatus s, const std::string& what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s != NATS_OK) fail(what, s, jerr);
}

struct raw_client {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;

  bool same_job = false;
  std::string event_body;  ///< same job: the CloudEvent every message carries

  raw_client(const bench::command_line& cl, std::size_t max_pending) : same_job(cl.same_job) {
    natsOptions* opts = nullptr;
    check(natsOptions_Create(&opts), "natsOptions_Create");
    check(natsOptions_SetURL(opts, cl.server.c_str()), "natsOptions_SetURL");
    check(natsOptions_SetSendAsap(opts, cl.load.send_asap), "natsOptions_SetSendAsap");
    const natsStatus connected = natsConnection_Connect(&conn, opts);
    natsOptions_Destroy(opts);
    check(connected, "connect to " + cl.server);
    if (same_job) event_body = cloud_event_body();
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = static_cast<int64_t>(max_pending);
    o.PublishAsync.ErrHandler = [](jsCtx*, jsPubAckErr* e, void*) {
      std::cerr << "PublishAsync failed: " << (e->ErrText != nullptr ? e->ErrText : "") << "\n";
      std::exit(1);  // a lost message would make the figures meaningless
    };
    check(natsConnection_JetStream(&js, conn, &o), "JetStream context");
  }
  ~raw_client() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(conn);
  }

  void recreate_stream() {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    js_DeleteStream(js, bench::stream_name, nullptr, &jerr);  // absent the first time
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {"bench.>"};
    cfg.Name = bench::stream_name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    check(js_AddStream(&si, js, &cfg, nullptr, &jerr), "create stream", jerr);
    jsStreamInfo_Destroy(si);
  }

  void stored(bench::result& r) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check(js_GetStreamInfo(&si, js, bench::stream_name, nullptr, &jerr), "stream info", jerr);
    r.message_size(si->State.Bytes, si->State.Msgs);
    jsStreamInfo_Destroy(si);
  }

  void publish_async(const std::string& subject, const std::string& data) {
    check(js_PublishAsync(js, subject.c_str(), data.data(), static_cast<int>(data.size()), nullptr), "js_PublishAsync");
  }

  /// The same job as natscoro's publish: the event's bytes, its content type and
  /// a Nats-Msg-Id unique per message (a UUID-sized counter: the id is not the work measured).
  void publish_event_async(const std::string& subject, std::uint64_t i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(i));
    natsMsg* msg = nullptr;
    check(natsMsg_Create(&msg, subject.c_str(), nullptr, event_body.data(), static_cast<int>(event_body.size())),
          "natsMsg_Create");
    natsStatus s = natsMsgHeader_Set(msg, "Content-Type", "application/cloudevents+json");
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
    if (s == NATS_OK) s = js_PublishMsgAsync(js, &msg, nullptr);  // takes the message when it succeeds
    natsMsg_Destroy(msg);
    check(s, "js_PublishMsgAsync");
  }

  /// Publishes `n` messages (at most MaxPending unacknowledged), then waits for every PubAck.
  void publish_pipelined(const workload& w, std::uint64_t n) {
    const std::string data = bench::payload();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (same_job)
        publish_event_async(bench::subject_for(w, i), i);
      else
        publish_async(bench::subject_for(w, i), data);
    }
    wait_for_pub_acks();
  }

  void wait_for_pub_acks() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60'000;
    check(js_PublishAsyncComplete(js, &po), "js_PublishAsyncComplete");
  }

  natsSubscription* pull_subscribe(const std::string& durable, const std::string& filter, bool only_new) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = bench::stream_name;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = 10'000;
    if (only_new) so.Config.DeliverPolicy = js_DeliverNew;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check(js_PullSubscribe(&sub, js, filter.c_str(), durable.c_str(), nullptr, &so, &jerr), "js_PullSubscribe", jerr);
    return sub;
  }
};

/// Fetches batches of `batch` and acks each message after `handle`, until `n` were consumed
/// or `seconds` (if > 0) have passed. Returns how many were consumed.
template <class Handle>
std::uint64_t fetch_and_ack(natsSubscription* sub, std::size_t batch, std::uint64_t n, double seconds, Handle handle) {
  const auto start = bench::clock::now();
  std::uint64_t consumed = 0;
  while (consumed < n && (seconds <= 0 || bench::seconds_since(start) < seconds)) {
    natsMsgList list{};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    check(natsSubscription_Fetch(&list, sub, static_cast<int>(batch), 5'000, &jerr), "natsSubscription_Fetch", jerr);
    for (int i = 0; i < list.Count; ++i) {
      handle(list.Msgs[i]);
      check(natsMsg_Ack(list.Msgs[i], nullptr), "natsMsg_Ack");
    }
    consumed += static_cast<std::uint64_t>(list.Count);
    natsMsgList_Destroy(&list);
  }
  return consumed;
}

void run(raw_client& c, const workload& w, bench::result& r) {
  switch (w.id) {
    case 'A':
    case 'H':  // the outbox workloads: the direct pipelined publish of as many messages
    case 'I':
    case 'J': {
      c.recreate_stream();
      bench::section measured;
      c.publish_pipelined(w, w.messages);
      r.measured(w.messages, measured);
      c.stored(r);
      break;
    }
    case 'B': {
      c.recreate_stream();
      const std::string data = bench::payload();
      auto one = [&](std::uint64_t i) {
        jsPubAck* ack = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        check(js_Publish(&ack, c.js, bench::subject_for(w, i).c_str(), data.data(), static_cast<int>(data.size()),
                         nullptr, &jerr),
              "js_Publish", jerr);
        jsPubAck_Destroy(ack);
      };
      for (std::uint64_t i = 0; i < w.warmup; ++i) one(i);
      std::vector<double> us;
      us.reserve(w.messages);
      bench::section measured;
      for (std::uint64_t i = 0; i < w.messages; ++i) {
        const auto t0 = bench::clock::now();
        one(i);
        us.push_back(bench::micros(bench::clock::now() - t0));
      }
      r.measured(w.messages, measured);
      r.latencies(us);
      c.stored(r);
      break;
    }
    case 'C':
    case 'E': {  // the raw client has no runner: E is C's loop with a trivial handler, for scale
      c.stored(r);
      natsSubscription* sub = c.pull_subscribe("bench", "bench.>", false);
      bench::section measured;
      const auto n = fetch_and_ack(sub, w.batch, w.messages, 0, [](natsMsg*) {});
      r.measured(n, measured);
      natsSubscription_Destroy(sub);
      break;
    }
    case 'D': {
      c.recreate_stream();
      natsSubscription* sub = c.pull_subscribe("bench", "bench.>", true);
      const std::string data = bench::payload();
      std::vector<double> us;
      auto one = [&](std::uint64_t i) {
        const auto t0 = bench::clock::now();
        c.publish_async(bench::subject_for(w, i), data);
        fetch_and_ack(sub, 1, 1, 0, [&](natsMsg*) { us.push_back(bench::micros(bench::clock::now() - t0)); });
      };
      for (std::uint64_t i = 0; i < w.warmup; ++i) one(i);
      us.clear();
      us.reserve(w.messages);
      bench::section measured;
      for (std::uint64_t i = 0; i < w.messages; ++i) one(i);
      r.measured(w.messages, measured);
      r.latencies(us);
      c.wait_for_pub_acks();
      c.stored(r);
      natsSubscription_Destroy(sub);
      break;
    }
    case 'F': {  // one message at a time, 1 ms each: the baseline for memory, not for speed
      c.stored(r);
      natsSubscription* sub = c.pull_subscribe("bench", "bench.>", false);
      bench::section measured;
      const auto n = fetch_and_ack(sub, w.batch, w.messages, w.seconds, [](natsMsg*) { nats_Sleep(1); });
      r.measured(n, measured);
      natsSubscription_Destroy(sub);
      break;
    }
    case 'G': {
      c.recreate_stream();
      std::vector<natsSubscription*> subs;
      const auto start = bench::clock::now();
      for (std::size_t i = 0; i < w.consumers; ++i)
        subs.push_back(c.pull_subscribe("g" + std::to_string(i), "bench.g." + std::to_string(i), false));
      r.set("setup_s", bench::seconds_since(start));
      const std::string data = bench::payload();
      for (std::size_t i = 0; i < w.consumers; ++i) c.publish_async("bench.g." + std::to_string(i), data);
      bench::section delivered;
      std::uint64_t received = 0;
      for (auto* sub : subs) received += fetch_and_ack(sub, 1, 1, 0, [](natsMsg*) {});
      r.measured(received, delivered);
      r.set("consumers", w.consumers);
      r.print();  // threads and memory while every consumer is alive
      for (auto* sub : subs) natsSubscription_Destroy(sub);
      return;
    }
  }
  r.print();
}

void fill(raw_client& c, const workload& w) {
  c.recreate_stream();
  c.publish_pipelined(w, w.messages);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto cl = bench::parse_command_line(argc, argv);
    if (!cl.load.raw_baseline || (cl.same_job && !cl.load.same_job_baseline)) return 0;
    if (cl.fill && (!cl.load.needs_fill || cl.load.outbox)) return 0;
    check(nats_Open(-1), "nats_Open");
    {
      raw_client c(cl, 4096);
      if (cl.fill) {
        fill(c, cl.load);
      } else {
        bench::result r(cl.load, cl.same_job ? "raw_same_job" : "raw");
        run(c, cl.load, r);
      }
    }
    nats_Close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
}
