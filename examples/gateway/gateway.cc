// A small chat gateway: every outgoing agent (or bot) message passes through it before the
// customer sees it. HTTP (cpp-httplib's router behind http_front.h), JSON in and out
// (nlohmann-json). docs/server.md, section 6, says how to deploy it.
//
//   scriptqa_gateway --dictionaries dictionaries --save-db /tmp/rules.sqdb --port 8080
//   scriptqa_gateway --db /tmp/rules.sqdb --profiles examples/gateway/profiles.json --port 8080
//
// Endpoints (all JSON; errors are {"error": "..."} with a 4xx or 5xx status):
//   POST /check   {"text": "...", "shop": "shop-a"?, "min_severity": "review"?, "rewrite": true?,
//                  "overlap_all": true?}
//              -> {"verdict": "pass"|"review"|"block", "findings": [...], "rewritten"?: "...",
//                  "clean"?: true, "generation": N, "findings_omitted"?: N}
//                 At most --max-findings findings are listed; the verdict counts them all.
//   POST /stream  {"conversation_id": "c1", "chunk": "...", "final": false, "shop"?: "...",
//                  "min_severity"?, "overlap_all"?}
//              -> {"release": "<text that may now be shown>", "released_bytes": N,
//                  "new_findings": [...], "finished": false, "generation": N, "findings_omitted"?: N}
//                 One message per conversation at a time, fed as a sequence of chunk requests (LLM
//                 tokens). "release" is the next piece of the message that can no longer become
//                 part of a finding; the concatenation of all releases is the message. The last
//                 request has "final": true and releases the rest.
//   POST /reload  {} (the configured database) or {"database": "path"} (that database again under
//                 any name, or a file in --reload-dir)
//              -> {"generation": N, "ms": 2.1}   (an error and the old rules on failure)
//   POST /profile {"name": "shop-c", "options": {...}} -> {"generation": N}
//   GET  /stats   counters;  GET /healthz
//
// Findings carry "matched" (the text in the caller's own message) and "masked" (the same span with
// personal data masked); everything the gateway logs is masked.
//
// Threads: http_front.h reads each request whole (bounded in size and time) and hands it to one of
// --threads workers; every worker has its own LocalScanner (scriptqa/reload.h), so a reload costs
// the workers one atomic load per request and one new scratch each, and never blocks them. Streams
// in flight keep the rules they started with.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "flags.h"
#include "http_front.h"
#include "json_io.h"
#include "scriptqa/mask.h"
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
  // Limits (docs/server.md, "Deploying").
  size_t max_connections = 256;
  size_t max_body_bytes = 1 << 20;  // a request body; also a streamed message in all
  int request_timeout_s = 10;
  int keep_alive_s = 30;
  size_t max_sessions = 4096;       // streams in flight
  int session_idle_s = 60;
  size_t max_findings = 1000;       // listed in one answer (the rest counted in findings_omitted)
  std::string reload_dir;           // POST /reload {"database": PATH} may read files in here
  uint64_t max_db_bytes = uint64_t{256} << 20;
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

int HttpStatus(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kResourceExhausted: return 413;
    default: return 500;
  }
}

// A database file read with bounds: a regular file (not a FIFO, device or directory; opened
// without blocking and without following a final link) of at most `max_bytes`.
absl::StatusOr<std::string> ReadDatabase(const std::string& path, uint64_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(path + ": no such file");
    return absl::FailedPreconditionError(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st;
  std::string bytes;
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = absl::FailedPreconditionError(path + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(path + ": not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    status = absl::FailedPreconditionError(absl::StrCat(path, ": ", st.st_size, " bytes, over the limit of ",
                                                        max_bytes, " (--max-db-bytes)"));
  } else {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    char extra;
    if (got != bytes.size() || read(fd, &extra, 1) != 0)
      status = absl::FailedPreconditionError(path + ": changed while being read");
  }
  close(fd);
  if (!status.ok()) return status;
  return bytes;
}

// The canonical absolute path of `path` (which need not exist: then of its directory, plus its
// name), or "" when its directory does not exist.
std::string Canonical(const std::string& path, bool* exists) {
  *exists = false;
  if (char* real = realpath(path.c_str(), nullptr)) {
    std::string out = real;
    free(real);
    *exists = true;
    return out;
  }
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return "";
  char* real = realpath(dir.c_str(), nullptr);
  if (real == nullptr) return "";
  std::string out = std::string(real) + (std::string(real) == "/" ? "" : "/") + name;
  free(real);
  return out;
}

// A database named by `path`, which may be a link (rules.sqdb -> rules-v42.sqdb): its target,
// read with the bounds of ReadDatabase.
absl::StatusOr<std::string> ReadDatabaseAt(const std::string& path, uint64_t max_bytes) {
  bool exists = false;
  const std::string real = Canonical(path, &exists);
  if (!exists) return absl::NotFoundError(path + ": no such file");
  return ReadDatabase(real, max_bytes);
}

// A byte count for the log (no long digit runs, which masking would hide).
std::string Bytes(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return absl::StrCat(n >> 20, " MiB");
  if (n >= 1024 && n % 1024 == 0) return absl::StrCat(n >> 10, " KiB");
  return absl::StrCat(n, " bytes");
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
      absl::StatusOr<std::string> bytes = ReadDatabaseAt(config_.db, config_.max_db_bytes);
      if (!bytes.ok()) return bytes.status();
      filter = scriptqa::Filter::Deserialize(*bytes);
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
    bool exists;
    if (!config_.reload_dir.empty()) {
      reload_dir_real_ = Canonical(config_.reload_dir, &exists);
      struct stat st;
      if (!exists || stat(reload_dir_real_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return absl::InvalidArgumentError("--reload-dir " + config_.reload_dir + ": not a directory");
    }
    auto handle = scriptqa::FilterHandle::Create(*filter);
    if (!handle.ok()) return handle.status();
    handle_ = *handle;
    if (!config_.profiles.empty()) {
      absl::StatusOr<std::string> text = ReadAll(config_.profiles);
      if (!text.ok()) return text.status();
      // The library reads the format (scriptqa/scanner.h, ProfilesFromJson): the same as
      // `scriptqa --profile`.
      absl::StatusOr<std::vector<std::pair<std::string, scriptqa::ProfileOptions>>> profiles =
          scriptqa::ProfilesFromJson(*text);
      if (!profiles.ok())
        return absl::InvalidArgumentError(config_.profiles + ": " + std::string(profiles.status().message()));
      for (const auto& [name, po] : *profiles) {
        absl::StatusOr<uint64_t> gen = handle_->SetProfile(name, po);
        if (!gen.ok()) return absl::Status(gen.status().code(), name + ": " + std::string(gen.status().message()));
      }
    }
    return absl::OkStatus();
  }

  int Run() {
    router_.set_payload_max_length(config_.max_body_bytes);
    router_.set_keep_alive_max_count(1u << 30);
    router_.set_keep_alive_timeout(config_.keep_alive_s);
    router_.Post("/check", [this](const httplib::Request& req, httplib::Response& res) { Check(req, res); });
    router_.Post("/stream", [this](const httplib::Request& req, httplib::Response& res) { Stream(req, res); });
    router_.Post("/reload", [this](const httplib::Request& req, httplib::Response& res) { Reload(req, res); });
    router_.Post("/profile", [this](const httplib::Request& req, httplib::Response& res) { SetProfile(req, res); });
    router_.Get("/stats", [this](const httplib::Request&, httplib::Response& res) { Stats(res); });
    router_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    // Errors without a body of their own (no such endpoint, a request line httplib cannot parse)
    // get {"error": ...} too.
    router_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      const std::string what = res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                                 : "bad request (HTTP " + std::to_string(res.status) + ")";
      Reply(res, res.status, json{{"error", what}});
      return httplib::Server::HandlerResponse::Handled;
    }));
    router_.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      LogLine("500 " + req.method + " " + req.path + ": " + what);
      Error(res, 500, "internal error");
    });
    router_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      if (res.status < 400 || res.status == 500) return;  // 500: logged by the exception handler
      json j = json::parse(res.body, nullptr, false);
      const std::string what = j.is_object() && j.contains("error") && j["error"].is_string()
                                   ? j["error"].get<std::string>() : std::string();
      LogLine(absl::StrCat(res.status, " ", req.method, " ", req.path, " from ", req.remote_addr, ": ", what));
    });

    FrontOptions fo;
    fo.host = config_.host;
    fo.port = config_.port;
    fo.threads = config_.threads;
    fo.max_connections = config_.max_connections;
    fo.max_body_bytes = config_.max_body_bytes;
    fo.request_timeout_s = config_.request_timeout_s;
    fo.keep_alive_s = config_.keep_alive_s;
    fo.log = [this](const std::string& line) { LogLine(line); };
    front_ = std::make_unique<HttpFront>(fo, &router_);
    absl::StatusOr<int> port = front_->Bind();
    if (!port.ok()) {
      LogLine(std::string(port.status().message()));
      return 1;
    }
    LogLine(absl::StrCat("listening on http://", config_.host, ":", *port, " (generation ", handle_->generation(),
                         ", ", config_.threads, " threads, at most ", config_.max_connections,
                         " connections, bodies up to ", Bytes(config_.max_body_bytes), ", ", config_.max_sessions,
                         " streams)"));
    if (!config_.port_file.empty()) {
      std::string tmp = config_.port_file + ".tmp";
      std::ofstream(tmp) << *port << "\n";
      std::rename(tmp.c_str(), config_.port_file.c_str());
    }
    std::thread timer([this] { Timer(); });
    front_->Run();
    stop_ = true;
    timer.join();
    return 0;
  }

  void Stop() {  // async-signal-safe
    if (front_) front_->Stop();
  }

 private:
  // The calling worker's scanner (one per thread, following reloads).
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

  // `text` with personal data masked by the current rules (Scanner::Mask).
  std::string Masked(std::string_view text) {
    if (handle_) {
      try {
        scriptqa::LocalScanner& local = Local();
        if (local.Refresh().ok()) return MaskedMessage(local.scanner(), text);
      } catch (const std::exception&) {
      }
    }
    return scriptqa::MaskPersonalData(text);
  }

  // Everything the gateway writes to stderr: personal data masked (the log is read by people
  // other than the customer), at most 20 lines a second (then a count of the lines left out).
  void LogLine(const std::string& line) {
    const std::string masked = Masked(line);
    std::lock_guard<std::mutex> lock(log_mu_);
    NextLogWindowLocked();
    if (log_lines_++ >= 20) {
      ++log_dropped_;
      return;
    }
    std::fprintf(stderr, "gateway: %s\n", masked.c_str());
  }

  // A second after the window opened: the count of the lines left out in it, and a new window.
  void NextLogWindowLocked() {
    const auto now = std::chrono::steady_clock::now();
    if (now - log_window_ < std::chrono::seconds(1)) return;
    if (log_dropped_ > 0) std::fprintf(stderr, "gateway: (%zu more lines left out)\n", log_dropped_);
    log_window_ = now;
    log_lines_ = 0;
    log_dropped_ = 0;
  }

  static absl::StatusOr<scriptqa::ScanOptions> Options(const json& j) {
    scriptqa::ScanOptions o;
    std::string severity;
    if (absl::Status st = GetString(j, "min_severity", &severity); !st.ok()) return st;
    if (j.contains("min_severity") && !scriptqa::ParseSeverity(severity, &o.min_severity))
      return absl::InvalidArgumentError("min_severity: advice, review or block");
    bool all = false;
    if (absl::Status st = GetBool(j, "overlap_all", &all); !st.ok()) return st;
    if (all) o.overlap = scriptqa::Overlap::kAll;
    return o;
  }

  void Check(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<json> j = ParseObject(req.body, {"text", "shop", "min_severity", "rewrite", "overlap_all"});
    if (!j.ok()) return Error(res, 400, j.status().message());
    std::string text, shop;
    bool rewrite = false;
    for (absl::Status st : {GetString(*j, "text", &text, /*required=*/true), GetString(*j, "shop", &shop),
                            GetBool(*j, "rewrite", &rewrite)})
      if (!st.ok()) return Error(res, 400, st.message());
    absl::StatusOr<scriptqa::ScanOptions> o = Options(*j);
    if (!o.ok()) return Error(res, 400, o.status().message());
    scriptqa::LocalScanner& scanner = Local();
    absl::StatusOr<std::vector<scriptqa::Finding>> fs = scanner.Scan(text, *o, shop);
    if (!fs.ok()) return Error(res, HttpStatus(fs.status()), fs.status().message());
    const uint64_t generation = scanner.snapshot()->generation();
    // Only a message with findings needs its masked form (a second scan, for privacy).
    const std::string masked = fs->empty() ? std::string() : MaskedMessage(scanner.scanner(), text);
    json out{{"verdict", std::string(Verdict(*fs))},
             {"findings", FindingsJson(*fs, masked, config_.max_findings)},
             {"generation", generation}};
    if (fs->size() > config_.max_findings) out["findings_omitted"] = fs->size() - config_.max_findings;
    if (rewrite) {
      absl::StatusOr<scriptqa::Rewritten> r = scanner.Rewrite(text, *o, shop);
      if (!r.ok()) return Error(res, HttpStatus(r.status()), r.status().message());
      out["rewritten"] = r->text;
      out["clean"] = r->clean;
    }
    checks_.fetch_add(1, std::memory_order_relaxed);
    Reply(res, 200, out);
  }

  // The session of conversation `id`, made if new; nullptr when --max-sessions are open.
  std::shared_ptr<Session> GetSession(const std::string& id) {
    Shard& shard = shards_[std::hash<std::string>()(id) % kShards];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.sessions.find(id);
    if (it == shard.sessions.end()) {
      if (sessions_.fetch_add(1) >= config_.max_sessions) {
        sessions_.fetch_sub(1);
        return nullptr;
      }
      it = shard.sessions.emplace(id, std::make_shared<Session>()).first;
    }
    // Here, not after locking s->mu: a new session's `touched` was the epoch, so the sweep could
    // drop it in between, and the next chunk started a new message without the first one.
    it->second->touched = std::chrono::steady_clock::now();
    return it->second;
  }

  void DropSession(const std::string& id, const std::shared_ptr<Session>& s) {
    Shard& shard = shards_[std::hash<std::string>()(id) % kShards];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.sessions.find(id);
    if (it != shard.sessions.end() && it->second == s) {
      shard.sessions.erase(it);
      sessions_.fetch_sub(1);
    }
  }

  void Stream(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<json> j =
        ParseObject(req.body, {"conversation_id", "chunk", "final", "shop", "min_severity", "overlap_all"});
    if (!j.ok()) return Error(res, 400, j.status().message());
    std::string id, chunk, shop;
    bool final = false;
    for (absl::Status st : {GetString(*j, "conversation_id", &id, /*required=*/true), GetString(*j, "chunk", &chunk),
                            GetString(*j, "shop", &shop), GetBool(*j, "final", &final)})
      if (!st.ok()) return Error(res, 400, st.message());
    if (id.empty() || id.size() > 256) return Error(res, 400, "conversation_id: 1 to 256 bytes");
    absl::StatusOr<scriptqa::ScanOptions> o = Options(*j);
    if (!o.ok()) return Error(res, 400, o.status().message());
    std::shared_ptr<Session> s = GetSession(id);
    if (!s) {
      res.set_header("Retry-After", "1");
      return Error(res, 503, absl::StrCat("too many messages streaming at once (--max-sessions ", config_.max_sessions,
                                          "); finish them with \"final\": true, or retry later"));
    }
    std::lock_guard<std::mutex> lock(s->mu);
    if (!s->stream) {  // a new message: on the rules current now
      scriptqa::StreamOptions so;
      so.scan = *o;
      so.min_scan_bytes = config_.min_scan_bytes;
      s->shop = shop;
      absl::StatusOr<scriptqa::StreamScanner> st = Local().NewStream(so, s->shop);
      if (!st.ok()) {
        DropSession(id, s);
        return Error(res, HttpStatus(st.status()), st.status().message());
      }
      s->stream.emplace(*std::move(st));
      s->generation = Local().snapshot()->generation();
      s->sent = 0;
    }
    if (s->stream->text().size() + chunk.size() > config_.max_body_bytes) {
      s->stream.reset();
      DropSession(id, s);
      return Error(res, 413, absl::StrCat("the streamed message would pass ", config_.max_body_bytes,
                                          " bytes (--max-body-bytes); the conversation's message is dropped"));
    }
    std::vector<scriptqa::Finding> found;
    absl::StatusOr<scriptqa::StreamUpdate> u = s->stream->Write(chunk);
    if (u.ok()) {
      found.assign(u->new_findings.begin(), u->new_findings.end());
      if (final) {
        u = s->stream->Finish();
        if (u.ok()) found.insert(found.end(), u->new_findings.begin(), u->new_findings.end());
      }
    }
    if (!u.ok()) {
      s->stream.reset();
      DropSession(id, s);
      return Error(res, HttpStatus(u.status()), u.status().message());
    }
    const std::string_view text = s->stream->text();
    const std::string masked = found.empty() ? std::string() : Masked(text);
    json out{{"release", std::string(text.substr(s->sent, u->releasable - s->sent))},
             {"released_bytes", u->releasable},
             {"new_findings", FindingsJson(found, masked, config_.max_findings)},
             {"finished", u->finished},
             {"generation", s->generation}};
    if (found.size() > config_.max_findings) out["findings_omitted"] = found.size() - config_.max_findings;
    s->sent = u->releasable;
    stream_chunks_.fetch_add(1, std::memory_order_relaxed);
    if (final) {
      streams_.fetch_add(1, std::memory_order_relaxed);
      s->stream.reset();
      DropSession(id, s);
    }
    Reply(res, 200, out);
  }

  // Where a reload may read from: the configured database (by any name for it) or a file in
  // --reload-dir (a relative path is taken from there). PermissionDenied for anything else.
  absl::StatusOr<std::string> ReloadPath(const std::string& requested) {
    if (reload_source_.empty() && requested.empty())
      return absl::FailedPreconditionError("no database to reload from (start with --db or --save-db)");
    bool exists = false;
    const std::string source = reload_source_.empty() ? std::string() : Canonical(reload_source_, &exists);
    if (requested.empty()) {
      if (!exists) return absl::NotFoundError(reload_source_ + ": no such file");
      return source;
    }
    std::string path = requested;
    if (path[0] != '/' && !reload_dir_real_.empty()) path = reload_dir_real_ + "/" + path;
    const std::string real = Canonical(path, &exists);
    const bool allowed =
        !real.empty() && ((!source.empty() && real == source) ||
                          (!reload_dir_real_.empty() &&
                           real.compare(0, reload_dir_real_.size() + 1, reload_dir_real_ + "/") == 0));
    if (!allowed)
      return absl::PermissionDeniedError(
          "reloading from '" + requested + "' is not allowed: only the configured database (--db or --save-db)" +
          (reload_dir_real_.empty() ? std::string(" (start with --reload-dir DIR to allow the files in DIR)")
                                    : " or a file in --reload-dir " + reload_dir_real_));
    if (!exists) return absl::NotFoundError("'" + requested + "': no such file");
    return real;
  }

  absl::StatusOr<uint64_t> DoReload(const std::string& requested) {
    absl::StatusOr<std::string> path = ReloadPath(requested);
    if (!path.ok()) return path.status();
    absl::StatusOr<std::string> bytes = ReadDatabase(*path, config_.max_db_bytes);
    if (!bytes.ok()) return bytes.status();
    return handle_->ReloadFromDatabase(*bytes);
  }

  void Reload(const httplib::Request& req, httplib::Response& res) {
    auto fail = [&](int status, absl::string_view message) {
      Reply(res, status, json{{"error", std::string(message)}, {"generation", handle_->generation()}});
    };
    absl::StatusOr<json> j = ParseObject(req.body, {"database"}, /*empty_ok=*/true);
    if (!j.ok()) return fail(400, j.status().message());
    std::string path;
    if (absl::Status st = GetString(*j, "database", &path); !st.ok()) return fail(400, st.message());
    if (j->contains("database") && path.empty()) return fail(400, "database: an empty path");
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<uint64_t> gen = DoReload(path);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!gen.ok()) {
      reload_failures_.fetch_add(1, std::memory_order_relaxed);
      const absl::StatusCode code = gen.status().code();
      return fail(code == absl::StatusCode::kPermissionDenied ? 403 : code == absl::StatusCode::kNotFound ? 404 : 422,
                  gen.status().message());
    }
    reloads_.fetch_add(1, std::memory_order_relaxed);
    Reply(res, 200, json{{"generation", *gen}, {"ms", ms}});
  }

  void SetProfile(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<json> j = ParseObject(req.body, {"name", "options"});
    if (!j.ok()) return Error(res, 400, j.status().message());
    std::string name;
    if (absl::Status st = GetString(*j, "name", &name, /*required=*/true); !st.ok()) return Error(res, 400, st.message());
    absl::StatusOr<scriptqa::ProfileOptions> po =
        scriptqa::ProfileOptionsFromJson(j->value("options", json::object()).dump());
    if (!po.ok()) return Error(res, 400, "options: " + std::string(po.status().message()));
    absl::StatusOr<uint64_t> gen = handle_->SetProfile(name, *po);
    if (!gen.ok()) return Error(res, 422, gen.status().message());
    Reply(res, 200, json{{"generation", *gen}});
  }

  void Stats(httplib::Response& res) {
    const FrontCounters& fc = front_->counters();
    Reply(res, 200, json{{"checks", checks_.load()},
                         {"stream_chunks", stream_chunks_.load()},
                         {"streams_finished", streams_.load()},
                         {"open_sessions", sessions_.load()},
                         {"reloads", reloads_.load()},
                         {"reload_failures", reload_failures_.load()},
                         {"generation", handle_->generation()},
                         {"profiles", handle_->Current()->profile_names()},
                         {"connections", {{"open", front_->open_connections()},
                                          {"accepted", fc.accepted.load()},
                                          {"refused", fc.refused.load()},
                                          {"evicted_idle", fc.evicted.load()},
                                          {"requests", fc.requests.load()},
                                          {"timed_out", fc.timeouts.load()},
                                          {"too_large", fc.too_large.load()},
                                          {"bad_requests", fc.bad_requests.load()}}}});
  }

  // Timed reloads (--reload-every-ms) and eviction of abandoned conversations.
  void Timer() {
    auto next_reload = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.reload_every_ms);
    const auto idle = std::chrono::seconds(config_.session_idle_s);
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      auto now = std::chrono::steady_clock::now();
      if (config_.reload_every_ms > 0 && now >= next_reload) {
        next_reload = now + std::chrono::milliseconds(config_.reload_every_ms);
        absl::StatusOr<uint64_t> gen = DoReload("");
        (gen.ok() ? reloads_ : reload_failures_).fetch_add(1, std::memory_order_relaxed);
        if (!gen.ok()) LogLine("reload failed: " + std::string(gen.status().message()));
      }
      {
        std::lock_guard<std::mutex> lock(log_mu_);
        NextLogWindowLocked();
      }
      for (Shard& shard : shards_) {
        std::lock_guard<std::mutex> lock(shard.mu);
        for (auto it = shard.sessions.begin(); it != shard.sessions.end();) {
          std::unique_lock<std::mutex> sl(it->second->mu, std::try_to_lock);
          if (sl.owns_lock() && now - it->second->touched > idle) {
            sl.unlock();
            it = shard.sessions.erase(it);
            sessions_.fetch_sub(1);
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
  std::string reload_source_, reload_dir_real_;
  Shard shards_[kShards];
  std::atomic<size_t> sessions_{0};
  Router router_;
  std::unique_ptr<HttpFront> front_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> checks_{0}, stream_chunks_{0}, streams_{0}, reloads_{0}, reload_failures_{0};
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point log_window_;
  size_t log_lines_ = 0, log_dropped_ = 0;
};

Gateway* g_gateway = nullptr;

void OnSignal(int) {
  if (g_gateway) g_gateway->Stop();
}

// Open files for --max-connections connections and a margin: raises the soft limit if it can.
bool EnoughDescriptors(size_t connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return true;
  const rlim_t want = static_cast<rlim_t>(connections) + 64;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    std::fprintf(stderr, "--max-connections %zu needs %llu open files; the limit is %llu (ulimit -n)\n", connections,
                 static_cast<unsigned long long>(want), static_cast<unsigned long long>(rl.rlim_cur));
    return false;
  }
  return true;
}

}  // namespace
}  // namespace gateway

int main(int argc, char** argv) {
  using gateway::AddNumber;
  gateway::Config c;
  CLI::App app{"A chat gateway: checks every outgoing agent message with scriptqa (docs/server.md)",
               "scriptqa_gateway"};
  auto* db = app.add_option("--db", c.db, "Serialized rule database to load, and reload from")
                 ->type_name("RULES.sqdb");
  auto* dicts = app.add_option("--dictionaries", c.dictionaries,
                               "Directory of *.rules to compile at start (instead of --db)")
                    ->type_name("DIR")
                    ->excludes(db);
  app.add_option("--save-db", c.save_db,
                 "With --dictionaries: save the compiled database here and reload from it")
      ->type_name("RULES.sqdb")
      ->needs(dicts);
  app.add_option("--profiles", c.profiles,
                 "Per-shop profiles, {\"shop-a\": {...}} (the format of scriptqa --profile)")
      ->type_name("FILE");
  app.add_option("--host", c.host, "Address to listen on (no authentication: keep it on loopback)")
      ->capture_default_str();
  AddNumber(app, "--port", &c.port, 0, 65535, "Port to listen on (0: any free port)");
  app.add_option("--port-file", c.port_file, "Write the port listened on to this file")
      ->type_name("FILE");
  AddNumber(app, "--threads", &c.threads, 1, 1024, "Worker threads");
  AddNumber(app, "--reload-every-ms", &c.reload_every_ms, 0, 86400000,
            "Reload the rules this often (0: only on POST /reload)");
  AddNumber<size_t>(app, "--min-scan-bytes", &c.min_scan_bytes, 0, size_t{1} << 30,
                    "Streams: match new text once this many bytes wait");
  AddNumber<size_t>(app, "--max-connections", &c.max_connections, 1, 100000,
                    "Open connections at most");
  AddNumber<size_t>(app, "--max-body-bytes", &c.max_body_bytes, 1024, size_t{1} << 30,
                    "Bytes of one request body, and of one streamed message in all");
  AddNumber(app, "--request-timeout-s", &c.request_timeout_s, 1, 3600,
            "Seconds to receive a whole request");
  AddNumber(app, "--keep-alive-s", &c.keep_alive_s, 1, 3600, "Seconds an idle connection is kept");
  AddNumber<size_t>(app, "--max-sessions", &c.max_sessions, 1, 10000000, "Streams in flight");
  AddNumber(app, "--session-idle-s", &c.session_idle_s, 1, 86400,
            "Seconds after which an idle stream is dropped");
  AddNumber<size_t>(app, "--max-findings", &c.max_findings, 1, 10000000,
                    "Findings listed in one answer (the rest are counted)");
  app.add_option("--reload-dir", c.reload_dir,
                 "POST /reload {\"database\": PATH} may read databases in this directory")
      ->type_name("DIR");
  AddNumber<uint64_t>(app, "--max-db-bytes", &c.max_db_bytes, 1024, uint64_t{1} << 36,
                      "Largest database file a reload reads");
  if (int code = gateway::Parse(app, argc, argv); code >= 0) return code;
  if (c.host != "127.0.0.1" && c.host != "localhost" && c.host != "::1")
    std::fprintf(stderr, "gateway: note: this example has no authentication; keep it on loopback or behind a proxy "
                         "that lets only the chat server in\n");
  if (!gateway::EnoughDescriptors(c.max_connections)) return 2;
  gateway::Gateway gw(c);
  absl::Status st = gw.Init();
  if (!st.ok()) {
    std::fprintf(stderr, "gateway: %s\n", scriptqa::MaskPersonalData(std::string(st.message())).c_str());
    return 1;
  }
  gateway::g_gateway = &gw;
  std::signal(SIGINT, gateway::OnSignal);
  std::signal(SIGTERM, gateway::OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  return gw.Run();
}
