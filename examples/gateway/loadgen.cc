// Load generator for scriptqa_gateway: concurrent conversations over loopback keep-alive
// connections, while the rules are reloaded every second; every answer is compared with an
// offline scan of the same message with the same rules.
//
//   scriptqa_loadgen --port 8080 --db /tmp/rules.sqdb --messages corpus.jsonl \
//       --profiles examples/gateway/profiles.json --connections 16 --duration-s 10
//
// Each message goes either to POST /check (one request) or, for --stream-share of them, to
// POST /stream as a sequence of chunk requests of 1–8 characters (an LLM reply arriving token by
// token). Messages rotate over the shops (no profile, then each profile). Reported:
//   throughput  messages checked per second (and requests per second)
//   latency     p50 / p99 / max of /check requests and of /stream chunk requests (microseconds)
//   lost        requests without a 200 answer with valid JSON
//   mismatched  answers whose findings differ from the offline scan (for streams: the findings
//               of all chunks together, and the released text must be the message)
//   reloads     POST /reload calls that succeeded (each must raise the generation)
// Exit status 0 only with no lost or mismatched answers and no failed reload. Loopback only; the
// run is bounded by --duration-s and --max-messages.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flags.h"
#include "json_io.h"
#include "scriptqa/reload.h"
#include "scriptqa/scanner.h"

namespace gateway {
namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string port_file;
  std::string db;
  std::string messages;
  std::string profiles;
  std::string json_out;
  int connections = 16;
  double duration_s = 10;
  size_t max_messages = 1000000;
  double stream_share = 0.2;
  int reload_every_ms = 1000;
};

struct Expectation {
  std::string signature;
};

struct WorkerStats {
  std::vector<double> check_us, chunk_us;
  size_t checks = 0, streams = 0, requests = 0, lost = 0, mismatched = 0;
  std::string first_problem;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Chunks of 1–8 characters (never inside a character: that is what a token stream delivers).
std::vector<std::string> Chunks(const std::string& m, std::mt19937* rng) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < m.size()) {
    size_t want = 1 + (*rng)() % 8, end = pos;
    for (size_t c = 0; c < want && end < m.size(); ++c) {
      ++end;
      while (end < m.size() && (static_cast<unsigned char>(m[end]) & 0xC0) == 0x80) ++end;
    }
    out.push_back(m.substr(pos, end - pos));
    pos = end;
  }
  if (out.empty()) out.push_back("");
  return out;
}

int Run(const Options& o) {
  // The same rules as the gateway, for the offline answers.
  auto filter = scriptqa::Filter::LoadFile(o.db);
  if (!filter.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", std::string(filter.status().message()).c_str());
    return 2;
  }
  auto handle = scriptqa::FilterHandle::Create(*filter);
  std::vector<std::string> shops = {""};
  if (!o.profiles.empty()) {
    auto text = ReadAll(o.profiles);
    json j = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (!j.is_object()) {
      std::fprintf(stderr, "loadgen: %s: not a JSON object\n", o.profiles.c_str());
      return 2;
    }
    auto profiles = scriptqa::ProfilesFromJson(*text);
    if (!profiles.ok()) {
      std::fprintf(stderr, "loadgen: %s: %s\n", o.profiles.c_str(), std::string(profiles.status().message()).c_str());
      return 2;
    }
    for (const auto& [name, po] : *profiles) {
      if (!(*handle)->SetProfile(name, po).ok()) {
        std::fprintf(stderr, "loadgen: profile %s does not load\n", name.c_str());
        return 2;
      }
      shops.push_back(name);
    }
  }
  auto messages = LoadMessages(o.messages);
  if (!messages.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", std::string(messages.status().message()).c_str());
    return 2;
  }
  const std::vector<std::string>& msgs = *messages;
  // Expected answers for every (message, shop), computed before the clock starts.
  // Also, per (message, shop): the /check request body and the exact "findings" member the answer
  // must contain (the gateway serialises with the same code, and JSON object keys are sorted), so
  // the hot loop neither builds nor parses JSON for /check.
  std::vector<std::string> expected(msgs.size() * shops.size());
  std::vector<std::string> check_body(msgs.size() * shops.size()), check_want(msgs.size() * shops.size());
  {
    auto scanner = scriptqa::LocalScanner::Create(*handle);
    for (size_t m = 0; m < msgs.size(); ++m)
      for (size_t s = 0; s < shops.size(); ++s) {
        auto fs = scanner->Scan(msgs[m], {}, shops[s]);
        if (!fs.ok()) {
          std::fprintf(stderr, "loadgen: offline scan failed: %s\n", std::string(fs.status().message()).c_str());
          return 2;
        }
        const size_t k = m * shops.size() + s;
        // The gateway's answers carry each finding's masked form too.
        const std::string masked = fs->empty() ? std::string() : MaskedMessage(scanner->scanner(), msgs[m]);
        json fj = FindingsJson(*fs, masked);
        expected[k] = Signature(fj);
        check_want[k] = "\"findings\":" + Dump(fj) + ",";
        json body{{"text", msgs[m]}};
        if (!shops[s].empty()) body["shop"] = shops[s];
        check_body[k] = Dump(body);
      }
  }
  size_t flagged = 0;
  for (size_t m = 0; m < msgs.size(); ++m) flagged += expected[m * shops.size()] != "";

  int port = o.port;
  if (!o.port_file.empty()) {
    for (int i = 0; i < 500 && port <= 0; ++i) {
      std::ifstream in(o.port_file);
      if (!(in >> port)) port = 0;
      if (port <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (port <= 0) {
    std::fprintf(stderr, "loadgen: no port\n");
    return 2;
  }
  {
    httplib::Client probe(o.host, port);
    bool up = false;
    for (int i = 0; i < 250 && !up; ++i) {
      auto r = probe.Get("/healthz");
      up = r && r->status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!up) {
      std::fprintf(stderr, "loadgen: gateway at %s:%d does not answer\n", o.host.c_str(), port);
      return 2;
    }
  }

  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  // Every connection is opened (one GET /healthz, one at a time: the server's listen backlog is
  // small) before the clock starts, so connection set-up is not measured.
  std::atomic<int> connected{0}, turn{0};
  std::atomic<bool> go{false};
  std::chrono::steady_clock::time_point start, deadline;
  std::vector<WorkerStats> stats(static_cast<size_t>(o.connections));

  auto worker = [&](int w) {
    WorkerStats& st = stats[static_cast<size_t>(w)];
    httplib::Client cli(o.host, port);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);
    cli.set_read_timeout(10, 0);
    while (turn.load() != w) std::this_thread::yield();
    auto hello = cli.Get("/healthz");
    if (!hello || hello->status != 200) ++st.lost;
    ++connected;
    ++turn;
    while (!go.load()) std::this_thread::yield();
    std::mt19937 rng(static_cast<uint32_t>(w) * 7919u + 1);
    auto post = [&](const char* path, const json& body, std::vector<double>* lat, json* out) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = cli.Post(path, Dump(body), "application/json");
      double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      ++st.requests;
      if (!r || r->status != 200) {
        ++st.lost;
        if (st.first_problem.empty())
          st.first_problem = std::string("no answer to ") + path + (r ? ": HTTP " + std::to_string(r->status) + " " + r->body : ": " + httplib::to_string(r.error()));
        return false;
      }
      *out = json::parse(r->body, nullptr, false);
      if (!out->is_object()) {
        ++st.lost;
        return false;
      }
      lat->push_back(us);
      return true;
    };
    while (!stop.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= o.max_messages || std::chrono::steady_clock::now() >= deadline) break;
      const size_t m = i % msgs.size(), s = (i / msgs.size() + i) % shops.size();
      const std::string& text = msgs[m];
      const std::string& want = expected[m * shops.size() + s];
      const bool as_stream = (i * 2654435761u % 1000) < o.stream_share * 1000;
      if (!as_stream) {
        const size_t k = m * shops.size() + s;
        auto t0 = std::chrono::steady_clock::now();
        auto r = cli.Post("/check", check_body[k], "application/json");
        double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
        ++st.requests;
        if (!r || r->status != 200 || r->body.empty() || r->body.front() != '{') {
          ++st.lost;
          if (st.first_problem.empty())
            st.first_problem = std::string("no answer to /check") + (r ? ": HTTP " + std::to_string(r->status) + " " + r->body : ": " + httplib::to_string(r.error()));
          continue;
        }
        st.check_us.push_back(us);
        ++st.checks;
        if (r->body.find(check_want[k]) == std::string::npos) {
          ++st.mismatched;
          if (st.first_problem.empty())
            st.first_problem = "check mismatch: " + text + " got " + r->body + " want " + check_want[k];
        }
      } else {
        const std::string conv = "w" + std::to_string(w) + "-" + std::to_string(i);
        std::vector<std::string> chunks = Chunks(text, &rng);
        json all = json::array();
        std::string released;
        bool ok = true;
        for (size_t k = 0; k < chunks.size() && ok; ++k) {
          json body{{"conversation_id", conv}, {"chunk", chunks[k]}, {"final", k + 1 == chunks.size()}};
          if (!shops[s].empty()) body["shop"] = shops[s];
          json out;
          ok = post("/stream", body, &st.chunk_us, &out);
          if (!ok) break;
          released += out.value("release", "");
          for (const json& f : out["new_findings"]) all.push_back(f);
        }
        if (!ok) continue;
        ++st.streams;
        if (released != text || Signature(all) != want) {
          ++st.mismatched;
          if (st.first_problem.empty())
            st.first_problem = "stream mismatch: " + text + " released " + released + " got " + Signature(all) + " want " + want;
        }
      }
    }
  };

  // Reloads: the same database again every period (so answers must not change), each raising the
  // generation.
  size_t reloads = 0, reload_failures = 0;
  double reload_ms_max = 0;
  std::thread reloader([&] {
    if (o.reload_every_ms <= 0) return;
    httplib::Client cli(o.host, port);
    while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    uint64_t last = 0;
    auto next_at = start + std::chrono::milliseconds(o.reload_every_ms);
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (std::chrono::steady_clock::now() < next_at) continue;
      next_at += std::chrono::milliseconds(o.reload_every_ms);
      auto r = cli.Post("/reload", Dump(json{{"database", o.db}}), "application/json");
      json out = r ? json::parse(r->body, nullptr, false) : json();
      if (!r || r->status != 200 || !out.is_object() || out.value("generation", uint64_t{0}) <= last) {
        ++reload_failures;
        continue;
      }
      last = out["generation"].get<uint64_t>();
      reload_ms_max = std::max(reload_ms_max, out.value("ms", 0.0));
      ++reloads;
    }
  });

  std::vector<std::thread> threads;
  for (int w = 0; w < o.connections; ++w) threads.emplace_back(worker, w);
  while (connected.load() < o.connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = std::chrono::steady_clock::now();
  deadline = start + std::chrono::microseconds(static_cast<int64_t>(o.duration_s * 1e6));
  go = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  reloader.join();

  WorkerStats total;
  for (WorkerStats& s : stats) {
    total.check_us.insert(total.check_us.end(), s.check_us.begin(), s.check_us.end());
    total.chunk_us.insert(total.chunk_us.end(), s.chunk_us.begin(), s.chunk_us.end());
    total.checks += s.checks;
    total.streams += s.streams;
    total.requests += s.requests;
    total.lost += s.lost;
    total.mismatched += s.mismatched;
    if (total.first_problem.empty()) total.first_problem = s.first_problem;
  }
  const size_t done = total.checks + total.streams;
  json summary{{"messages", done},
               {"checks", total.checks},
               {"streams", total.streams},
               {"requests", total.requests},
               {"seconds", elapsed},
               {"messages_per_s", done / elapsed},
               {"requests_per_s", total.requests / elapsed},
               {"check_p50_us", Percentile(total.check_us, 50)},
               {"check_p99_us", Percentile(total.check_us, 99)},
               {"check_max_us", total.check_us.empty() ? 0.0 : *std::max_element(total.check_us.begin(), total.check_us.end())},
               {"chunk_p50_us", Percentile(total.chunk_us, 50)},
               {"chunk_p99_us", Percentile(total.chunk_us, 99)},
               {"reloads", reloads},
               {"reload_failures", reload_failures},
               {"reload_ms_max", reload_ms_max},
               {"lost", total.lost},
               {"mismatched", total.mismatched},
               {"connections", o.connections},
               {"distinct_messages", msgs.size()},
               {"messages_with_findings", flagged},
               {"shops", shops.size()}};
  std::printf("loadgen: %zu messages (%zu /check, %zu streamed in %zu chunk requests) in %.1f s over %d connections\n",
              done, total.checks, total.streams, total.chunk_us.size(), elapsed, o.connections);
  std::printf("loadgen: throughput %.0f messages/s, %.0f requests/s\n", done / elapsed, total.requests / elapsed);
  std::printf("loadgen: /check latency p50 %.0f us, p99 %.0f us, max %.0f us; /stream chunk p50 %.0f us, p99 %.0f us\n",
              summary["check_p50_us"].get<double>(), summary["check_p99_us"].get<double>(),
              summary["check_max_us"].get<double>(), summary["chunk_p50_us"].get<double>(),
              summary["chunk_p99_us"].get<double>());
  std::printf("loadgen: reloads %zu (failed %zu, slowest %.1f ms); lost %zu; mismatched %zu\n", reloads,
              reload_failures, reload_ms_max, total.lost, total.mismatched);
  if (!total.first_problem.empty()) std::printf("loadgen: first problem: %s\n", total.first_problem.c_str());
  std::printf("%s\n", Dump(summary).c_str());
  if (!o.json_out.empty()) std::ofstream(o.json_out) << summary.dump(2) << "\n";
  // Reloads run one after another, each taking as long as loading the database does (tens of ms;
  // seconds on a loaded machine or under a sanitizer): at least one must have completed while the
  // load ran, and none failed.
  const size_t scheduled = o.reload_every_ms > 0 ? static_cast<size_t>(elapsed * 1000 / o.reload_every_ms) : 0;
  const bool ok = total.lost == 0 && total.mismatched == 0 && reload_failures == 0 && done > 0 &&
                  (scheduled == 0 || reloads >= 1);
  std::printf("loadgen: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace gateway

int main(int argc, char** argv) {
  using gateway::AddNumber;
  gateway::Options o;
  CLI::App app{"Load generator for scriptqa_gateway: answers compared with an offline scan",
               "scriptqa_loadgen"};
  app.add_option("--host", o.host, "The gateway's address (loopback only)")->capture_default_str();
  auto* port = AddNumber(app, "--port", &o.port, 0, 65535, "The gateway's port");
  app.add_option("--port-file", o.port_file, "Read the gateway's port from this file")
      ->type_name("FILE")
      ->excludes(port);
  app.add_option("--db", o.db, "The gateway's rule database (for the offline answers)")
      ->type_name("RULES.sqdb")
      ->required();
  app.add_option("--messages", o.messages, "Messages: .txt (one per line) or .jsonl (agent turns)")
      ->type_name("FILE")
      ->required();
  app.add_option("--profiles", o.profiles, "The gateway's profiles (messages rotate over them)")
      ->type_name("FILE");
  app.add_option("--json-out", o.json_out, "Write the results as JSON here")->type_name("FILE");
  AddNumber(app, "--connections", &o.connections, 1, 4096, "Concurrent connections");
  AddNumber(app, "--duration-s", &o.duration_s, 0.0, 86400.0, "Seconds to run");
  AddNumber<size_t>(app, "--max-messages", &o.max_messages, 1, size_t{1} << 32,
                    "Messages to send at most");
  AddNumber(app, "--stream-share", &o.stream_share, 0.0, 1.0, "Share of messages sent as streams");
  AddNumber(app, "--reload-every-ms", &o.reload_every_ms, 0, 86400000,
            "Reload the gateway's rules this often (0: never)");
  if (int code = gateway::Parse(app, argc, argv); code >= 0) return code;
  if (!o.port_file.empty()) o.port = 0;
  if (o.host != "127.0.0.1" && o.host != "localhost" && o.host != "::1") {
    std::fprintf(stderr, "loadgen: loopback only\n");
    return 2;
  }
  return gateway::Run(o);
}
