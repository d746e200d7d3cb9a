// The gateway's network side: it owns the sockets and reads each request whole, within bounds,
// before cpp-httplib's router sees it.
//
// cpp-httplib 0.11 (Debian 12) serves each connection on a pool thread that blocks in recv: a
// client sending a header line every few seconds, or just connecting, holds a thread for as long
// as it likes, and a chunked or gzip body is read into memory with no size limit. Here, instead:
//
//   * N worker threads share one epoll set; a connection is looked at only when it has bytes (or
//     room to write), so slow and idle clients cost a buffer and a descriptor, never a thread;
//   * each request is framed here (request line, headers, then a Content-Length or chunked body)
//     with hard limits: headers at most max_header_bytes (431), body at most max_body_bytes (413,
//     refused as soon as a length or chunk size says so: an oversized chunked body is never read
//     whole), Content-Encoding other than identity refused (415: a 4 KiB gzip body can inflate to
//     gigabytes), both Content-Length and Transfer-Encoding or an unknown Transfer-Encoding
//     refused (400 / 501); Range headers are dropped (cpp-httplib would copy the answer once per
//     range: thousands fit in the head);
//   * a request must arrive whole within request_timeout_s of its first byte (408), an idle
//     keep-alive connection is closed after keep_alive_s, an answer must be taken within
//     request_timeout_s;
//   * at most max_connections connections are open; at the cap, the connection idle the longest
//     between requests is closed to make room, and when none is idle a new one gets 503.
//
// A complete request is handed, rebuilt with a Content-Length and without framing headers, to
// httplib::Server::process_request over an in-memory stream, so the handlers are ordinary
// cpp-httplib handlers. The answer is written without blocking (the rest when the client reads).
//
// Memory: at most max_connections × (max_body_bytes + max_header_bytes + 64 KiB) for requests in
// flight, plus their answers.
#ifndef SCRIPTQA_EXAMPLES_GATEWAY_HTTP_FRONT_H_
#define SCRIPTQA_EXAMPLES_GATEWAY_HTTP_FRONT_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"

namespace gateway {

struct FrontOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port
  int threads = 32;                      // workers (each answers one request at a time)
  size_t max_connections = 256;
  size_t max_body_bytes = 1 << 20;       // decoded body, Content-Length or chunked
  size_t max_header_bytes = 16 << 10;    // request line and headers (and chunked trailers)
  size_t max_header_lines = 100;
  int request_timeout_s = 10;            // first byte to end of body; also to write an answer
  int keep_alive_s = 30;                 // idle between requests
  // One line per refused connection or request (408, 413, 431, 503, ...). Called from any
  // thread, possibly concurrently; the text may hold what the client sent (e.g. its path).
  std::function<void(const std::string&)> log;
};

// cpp-httplib's router and handlers, fed requests by HttpFront.
class Router : public httplib::Server {
 public:
  bool Serve(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
    return process_request(stream, close_connection, connection_closed, nullptr);
  }
};

struct FrontCounters {
  std::atomic<uint64_t> accepted{0}, refused{0}, evicted{0}, requests{0}, timeouts{0}, too_large{0},
      bad_requests{0};
};

class HttpFront {
 public:
  HttpFront(FrontOptions options, Router* router);
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  // Listens on options.host:options.port; returns the port (the chosen one for port 0).
  absl::StatusOr<int> Bind();
  // Serves until Stop(); then closes every connection.
  void Run();
  // Async-signal-safe.
  void Stop();
  bool running() const { return running_.load(); }

  size_t open_connections() const { return open_.load(); }
  const FrontCounters& counters() const { return counters_; }
  const FrontOptions& options() const { return options_; }

  struct Conn;

 private:
  void Worker();
  void Accept();
  void EvictIdle();
  void OnEvent(uint64_t id, uint32_t events);
  void Pump(Conn& c);
  void Sweep();
  void Arm(Conn& c, uint32_t events);
  void CloseLocked(Conn& c);
  void StartLinger(Conn& c);
  void QueueError(Conn& c, int status, const std::string& message);
  void Answer(Conn& c, std::string request);
  enum class Flushed { kDone, kPending, kFailed };
  Flushed Flush(Conn& c);
  void Log(const std::string& line);

  FrontOptions options_;
  Router* router_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accept_paused_{false};  // out of descriptors: Sweep re-arms the listener
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> next_id_{16};
  std::mutex table_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns_;
  FrontCounters counters_;
};

}  // namespace gateway

#endif  // SCRIPTQA_EXAMPLES_GATEWAY_HTTP_FRONT_H_
