// A small chat gateway: every outgoing agent (or bot) message passes through it before the
// customer sees it. Loopback HTTP (cpp-httplib), JSON in and out (nlohmann-json).
//
//   scriptqa_gateway --dictionaries dictionaries --save-db /tmp/rules.sqdb --port 8080
//   scriptqa_gateway --db /tmp/rules.sqdb --profiles examples/gateway/profiles.json --port 8080
//
// Endpoints (all JSON; errors are {"error": "..."} with status 400, 404 or 422):
//   POST /check   {"text": "...", "shop": "shop-a"?, "min_severity": "review"?, "rewrite": true?}
//              -> {"verdict": "pass"|"review"|"block", "findings": [...], "rewritten"?: "...",
//                  "clean"?: true, "generation": N}
//   POST /stream  {"conversation_id": "c1", "chunk": "...", "final": false, "shop"?: "..."}
//              -> {"release": "<text that may now be shown>", "released_bytes": N,
//                  "new_findings": [...], "finished": false, "generation": N}
//                 One message per conversation at a time, fed as a sequence of chunk requests (LLM
//                 tokens). "release" is the next piece of the message that can no longer become
//                 part of a finding; the concatenation of all releases is the message. The last
//                 request has "final": true and releases the rest.
//   POST /reload  {} (the configured source) or {"database": "path"}
//              -> {"generation": N, "ms": 2.1}   (422 and the old rules on failure)
//   POST /profile {"name": "shop-c", "options": {...}} -> {"generation": N}
//   GET  /stats   counters;  GET /healthz
//
// Threads: cpp-httplib serves each keep-alive connection on a pool thread; every pool thread has
// its own LocalScanner (scriptqa/reload.h), so a reload costs the scanning threads one atomic load
// per request and one new scratch per thread, and never blocks them. Streams in flight keep the
// rules they started with.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "flags.h"
#include "json_io.h"
#include "scriptqa/reload.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

namespace gateway {
namespace {

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string port_file;
  std::string db;            // serialized database to load and reload from
  std::string dictionaries;  // directory of *.rules to compile at start
  std::string save_db;       // with --dictionaries: save the compiled database here, reload from it
  std::string profiles;      // JSON file of per-shop profiles
  int threads = 32;
  int reload_every_ms = 0;   // 0: only on POST /reload
  size_t min_scan_bytes = 48;
};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void Error(httplib::Response& res, int status, absl::string_view message) {
  Reply(res, status, json{{"error", std::string(message)}});
}

std::string_view Verdict(const std::vector<scriptqa::Finding>& fs) {
  bool any_review = false;
  for (const auto& f : fs) {
    if (f.severity == scriptqa::Severity::kBlock) return "block";
    if (f.severity == scriptqa::Severity::kReview) any_review = true;
  }
  return any_review ? "review" : "pass";
}

// One conversation's message in flight.
struct Session {
  std::mutex mu;
  std::optional<scriptqa::StreamScanner> stream;  // keeps its rules (and profile) alive
  std::string shop;
  uint64_t generation = 0;  // of the rules the message started on
  size_t sent = 0;          // bytes of the message already released
  // Set under the shard's lock by GetSession, read under it by the idle sweep (Timer): a session
  // is never swept between GetSession and the request locking `mu`.
  std::chrono::steady_clock::time_point touched;
};

class Gateway {
 public:
  explicit Gateway(Config config) : config_(std::move(config)) {}

  absl::Status Init() {
    absl::StatusOr<std::shared_ptr<const scriptqa::Filter>> filter;
    if (!config_.db.empty()) {
      filter = scriptqa::Filter::LoadFile(config_.db);
      reload_source_ = config_.db;
    } else {
      std::vector<std::string> paths;
      std::string dir = config_.dictionaries.empty() ? scriptqa::Filter::DefaultDictionaryDir()
                                                     : config_.dictionaries;
      for (const char* p : {"ad_law", "deflection", "off_platform", "review", "privacy", "script_quality"})
        paths.push_back(dir + "/" + p + ".rules");
      filter = scriptqa::Filter::FromFiles(paths);
      if (filter.ok() && !config_.save_db.empty()) {
        absl::Status st = (*filter)->SaveFile(config_.save_db);
        if (!st.ok()) return st;
        reload_source_ = config_.save_db;
      }
    }
    if (!filter.ok()) return filter.status();
    auto handle = scriptqa::FilterHandle::Create(*filter);
    if (!handle.ok()) return handle.status();
    handle_ = *handle;
    if (!config_.profiles.empty()) {
      absl::StatusOr<std::string> text = ReadAll(config_.profiles);
      if (!text.ok()) return text.status();
      json j = json::parse(*text, nullptr, false);
      if (!j.is_object()) return absl::InvalidArgumentError(config_.profiles + ": not a JSON object");
      for (const auto& [name, value] : j.items()) {
        absl::StatusOr<scriptqa::ProfileOptions> po = ProfileFromJson(value);
        if (!po.ok()) return absl::InvalidArgumentError(name + ": " + std::string(po.status().message()));
        absl::StatusOr<uint64_t> gen = handle_->SetProfile(name, *po);
        if (!gen.ok()) return gen.status();
      }
    }
    return absl::OkStatus();
  }

  int Run() {
    httplib::Server server;
    const int threads = config_.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    server.set_keep_alive_max_count(1u << 30);
    server.set_keep_alive_timeout(30);
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(1 << 20);
    server.Post("/check", [this](const httplib::Request& req, httplib::Response& res) { Check(req, res); });
    server.Post("/stream", [this](const httplib::Request& req, httplib::Response& res) { Stream(req, res); });
    server.Post("/reload", [this](const httplib::Request& req, httplib::Response& res) { Reload(req, res); });
    server.Post("/profile", [this](const httplib::Request& req, httplib::Response& res) { SetProfile(req, res); });
    server.Get("/stats", [this](const httplib::Request&, httplib::Response& res) { Stats(res); });
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });

    int port = config_.port;
    if (port == 0) {
      port = server.bind_to_any_port(config_.host);
    } else if (!server.bind_to_port(config_.host, port)) {
      port = -1;
    }
    if (port < 0) {
      std::fprintf(stderr, "gateway: cannot listen on %s:%d\n", config_.host.c_str(), config_.port);
      return 1;
    }
    std::fprintf(stderr, "gateway: listening on http://%s:%d (generation %llu, %d threads)\n",
                 config_.host.c_str(), port, static_cast<unsigned long long>(handle_->generation()),
                 threads);
    if (!config_.port_file.empty()) {
      std::string tmp = config_.port_file + ".tmp";
      std::ofstream(tmp) << port << "\n";
      std::rename(tmp.c_str(), config_.port_file.c_str());
    }
    std::thread timer([this, &server] { Timer(server); });
    server_ = &server;
    bool ok = server.listen_after_bind();
    stop_ = true;
    timer.join();
    return ok ? 0 : 1;
  }

  void Stop() {
    if (server_) server_->stop();
  }

 private:
  // The calling pool thread's scanner (one per thread, following reloads).
  scriptqa::LocalScanner& Local() {
    thread_local std::unique_ptr<scriptqa::LocalScanner> local;
    thread_local const Gateway* owner = nullptr;
    if (!local || owner != this) {
      absl::StatusOr<scriptqa::LocalScanner> s = scriptqa::LocalScanner::Create(handle_);
      if (!s.ok()) throw std::runtime_error(std::string(s.status().message()));
      local = std::make_unique<scriptqa::LocalScanner>(*std::move(s));
      owner = this;
    }
    return *local;
  }

  static absl::StatusOr<scriptqa::ScanOptions> Options(const json& j) {
    scriptqa::ScanOptions o;
    if (j.contains("min_severity")) {
      if (!j["min_severity"].is_string() ||
          !scriptqa::ParseSeverity(j["min_severity"].get<std::string>(), &o.min_severity))
        return absl::InvalidArgumentError("min_severity: advice, review or block");
    }
    if (j.value("overlap_all", false)) o.overlap = scriptqa::Overlap::kAll;
    return o;
  }

  static int HttpStatus(const absl::Status& st) {
    switch (st.code()) {
      case absl::StatusCode::kNotFound: return 404;
      case absl::StatusCode::kInvalidArgument: return 400;
      case absl::StatusCode::kFailedPrecondition: return 409;
      default: return 500;
    }
  }

  void Check(const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      return Error(res, 400, "expected {\"text\": \"...\"}");
    absl::StatusOr<scriptqa::ScanOptions> o = Options(j);
    if (!o.ok()) return Error(res, 400, o.status().message());
    const std::string text = j["text"].get<std::string>();
    const std::string shop = j.value("shop", "");
    scriptqa::LocalScanner& scanner = Local();
    absl::StatusOr<std::vector<scriptqa::Finding>> fs = scanner.Scan(text, *o, shop);
    if (!fs.ok()) return Error(res, HttpStatus(fs.status()), fs.status().message());
    json out{{"verdict", std::string(Verdict(*fs))},
             {"findings", FindingsJson(*fs)},
             {"generation", scanner.snapshot()->generation()}};
    if (j.value("rewrite", false)) {
      absl::StatusOr<scriptqa::Rewritten> r = scanner.Rewrite(text, *o, shop);
      if (!r.ok()) return Error(res, HttpStatus(r.status()), r.status().message());
      out["rewritten"] = r->text;
      out["clean"] = r->clean;
    }
    checks_.fetch_add(1, std::memory_order_relaxed);
    Reply(res, 200, out);
  }

  std::shared_ptr<Session> GetSession(const std::string& id) {
    Shard& shard = shards_[std::hash<std::string>()(id) % kShards];
    std::lock_guard<std::mutex> lock(shard.mu);
    std::shared_ptr<Session>& s = shard.sessions[id];
    if (!s) s = std::make_shared<Session>();
    // Here, not after locking s->mu: a new session's `touched` was the epoch, so the sweep could
    // drop it in between, and the next chunk started a new message without the first one.
    s->touched = std::chrono::steady_clock::now();
    return s;
  }

  void DropSession(const std::string& id, const std::shared_ptr<Session>& s) {
    Shard& shard = shards_[std::hash<std::string>()(id) % kShards];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.sessions.find(id);
    if (it != shard.sessions.end() && it->second == s) shard.sessions.erase(it);
  }

  void Stream(const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    if (!j.is_object() || !j.contains("conversation_id") || !j["conversation_id"].is_string())
      return Error(res, 400, "expected {\"conversation_id\": \"...\", \"chunk\": \"...\"}");
    absl::StatusOr<scriptqa::ScanOptions> o = Options(j);
    if (!o.ok()) return Error(res, 400, o.status().message());
    const std::string id = j["conversation_id"].get<std::string>();
    const std::string chunk = j.value("chunk", "");
    const bool final = j.value("final", false);
    std::shared_ptr<Session> s = GetSession(id);
    std::lock_guard<std::mutex> lock(s->mu);
    if (!s->stream) {  // a new message: on the rules current now
      scriptqa::StreamOptions so;
      so.scan = *o;
      so.min_scan_bytes = config_.min_scan_bytes;
      s->shop = j.value("shop", "");
      absl::StatusOr<scriptqa::StreamScanner> st = Local().NewStream(so, s->shop);
      if (!st.ok()) {
        DropSession(id, s);
        return Error(res, HttpStatus(st.status()), st.status().message());
      }
      s->stream.emplace(*std::move(st));
      s->generation = Local().snapshot()->generation();
      s->sent = 0;
    }
    json found = json::array();
    absl::StatusOr<scriptqa::StreamUpdate> u = s->stream->Write(chunk);
    if (u.ok()) {
      for (const auto& f : u->new_findings) found.push_back(FindingJson(f));
      if (final) {
        u = s->stream->Finish();
        if (u.ok())
          for (const auto& f : u->new_findings) found.push_back(FindingJson(f));
      }
    }
    if (!u.ok()) {
      DropSession(id, s);
      return Error(res, HttpStatus(u.status()), u.status().message());
    }
    const std::string_view text = s->stream->text();
    json out{{"release", std::string(text.substr(s->sent, u->releasable - s->sent))},
             {"released_bytes", u->releasable},
             {"new_findings", std::move(found)},
             {"finished", u->finished},
             {"generation", s->generation}};
    s->sent = u->releasable;
    stream_chunks_.fetch_add(1, std::memory_order_relaxed);
    if (final) {
      streams_.fetch_add(1, std::memory_order_relaxed);
      s->stream.reset();
      DropSession(id, s);
    }
    Reply(res, 200, out);
  }

  absl::StatusOr<uint64_t> DoReload(const std::string& path) {
    if (path.empty()) return absl::FailedPreconditionError("no database to reload from (start with --db or --save-db)");
    return handle_->ReloadFromFile(path);
  }

  void Reload(const httplib::Request& req, httplib::Response& res) {
    json j = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (!j.is_object()) return Error(res, 400, "expected a JSON object");
    const std::string path = j.value("database", reload_source_);
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<uint64_t> gen = DoReload(path);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!gen.ok()) {
      reload_failures_.fetch_add(1, std::memory_order_relaxed);
      return Reply(res, 422, json{{"error", std::string(gen.status().message())},
                                  {"generation", handle_->generation()}});
    }
    reloads_.fetch_add(1, std::memory_order_relaxed);
    Reply(res, 200, json{{"generation", *gen}, {"ms", ms}});
  }

  void SetProfile(const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string())
      return Error(res, 400, "expected {\"name\": \"...\", \"options\": {...}}");
    absl::StatusOr<scriptqa::ProfileOptions> po = ProfileFromJson(j.value("options", json::object()));
    if (!po.ok()) return Error(res, 400, po.status().message());
    absl::StatusOr<uint64_t> gen = handle_->SetProfile(j["name"].get<std::string>(), *po);
    if (!gen.ok()) return Error(res, 422, gen.status().message());
    Reply(res, 200, json{{"generation", *gen}});
  }

  void Stats(httplib::Response& res) {
    size_t sessions = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      sessions += shard.sessions.size();
    }
    Reply(res, 200, json{{"checks", checks_.load()},
                         {"stream_chunks", stream_chunks_.load()},
                         {"streams_finished", streams_.load()},
                         {"open_sessions", sessions},
                         {"reloads", reloads_.load()},
                         {"reload_failures", reload_failures_.load()},
                         {"generation", handle_->generation()},
                         {"profiles", handle_->Current()->profile_names()}});
  }

  // Timed reloads (--reload-every-ms) and eviction of abandoned conversations.
  void Timer(httplib::Server& server) {
    while (!server.is_running() && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto next_reload = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.reload_every_ms);
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      auto now = std::chrono::steady_clock::now();
      if (config_.reload_every_ms > 0 && now >= next_reload) {
        next_reload = now + std::chrono::milliseconds(config_.reload_every_ms);
        absl::StatusOr<uint64_t> gen = DoReload(reload_source_);
        (gen.ok() ? reloads_ : reload_failures_).fetch_add(1, std::memory_order_relaxed);
        if (!gen.ok()) std::fprintf(stderr, "gateway: reload failed: %s\n", std::string(gen.status().message()).c_str());
      }
      for (Shard& shard : shards_) {
        std::lock_guard<std::mutex> lock(shard.mu);
        for (auto it = shard.sessions.begin(); it != shard.sessions.end();) {
          std::unique_lock<std::mutex> sl(it->second->mu, std::try_to_lock);
          if (sl.owns_lock() && now - it->second->touched > std::chrono::seconds(60)) {
            sl.unlock();
            it = shard.sessions.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
  }

  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Session>> sessions;
  };

  Config config_;
  std::shared_ptr<scriptqa::FilterHandle> handle_;
  std::string reload_source_;
  Shard shards_[kShards];
  httplib::Server* server_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> checks_{0}, stream_chunks_{0}, streams_{0}, reloads_{0}, reload_failures_{0};
};

Gateway* g_gateway = nullptr;

void OnSignal(int) {
  if (g_gateway) g_gateway->Stop();
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--db RULES.sqdb | --dictionaries DIR [--save-db RULES.sqdb]]\n"
               "          [--profiles profiles.json] [--host 127.0.0.1] [--port 8080 | 0]\n"
               "          [--port-file FILE] [--threads 32] [--reload-every-ms 0]\n"
               "          [--min-scan-bytes 48]\n",
               argv0);
  return 2;
}

}  // namespace
}  // namespace gateway

int main(int argc, char** argv) {
  gateway::Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--db") c.db = value();
    else if (a == "--dictionaries") c.dictionaries = value();
    else if (a == "--save-db") c.save_db = value();
    else if (a == "--profiles") c.profiles = value();
    else if (a == "--host") c.host = value();
    else if (a == "--port") c.port = gateway::FlagNumber(a, value(), 0, 65535);
    else if (a == "--port-file") c.port_file = value();
    else if (a == "--threads") c.threads = gateway::FlagNumber(a, value(), 1, 1024);
    else if (a == "--reload-every-ms") c.reload_every_ms = gateway::FlagNumber(a, value(), 0, 86400000);
    else if (a == "--min-scan-bytes") c.min_scan_bytes = gateway::FlagNumber<size_t>(a, value(), 0, size_t{1} << 30);
    else return gateway::Usage(argv[0]);
  }
  if (c.host != "127.0.0.1" && c.host != "localhost" && c.host != "::1")
    std::fprintf(stderr, "gateway: note: this example has no authentication; keep it on loopback\n");
  gateway::Gateway gw(c);
  absl::Status st = gw.Init();
  if (!st.ok()) {
    std::fprintf(stderr, "gateway: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  gateway::g_gateway = &gw;
  std::signal(SIGINT, gateway::OnSignal);
  std::signal(SIGTERM, gateway::OnSignal);
  return gw.Run();
}
