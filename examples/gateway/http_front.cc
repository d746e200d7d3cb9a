// The gateway's network side (http_front.h): epoll, request framing with limits, timeouts.
#include "http_front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gateway {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenId = 1;
constexpr uint64_t kStopId = 2;
constexpr size_t kReadChunk = 64 << 10;     // one recv; also the most read past a request
constexpr size_t kMaxRequestLine = 8192;    // cpp-httplib's own bound (it answers 414 past it)
constexpr size_t kMaxChunkSizeLine = 1024;  // "1f4;name=value" with extensions
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 4 << 20;
constexpr int kRequestsPerTurn = 32;         // pipelined requests answered before yielding

const char* Reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

// A complete answer that closes the connection: {"error": message}.
std::string ErrorResponse(int status, const std::string& message) {
  const std::string body =
      nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                      "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                      "\r\nConnection: close\r\n\r\n", body);
}

// A client-supplied value in an error message: short, printable.
std::string Quote(std::string_view v) {
  std::string out = "'";
  for (char c : v.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > 40) out += "...";
  return out + "'";
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string Lower(std::string_view v) {
  std::string out(v);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

void Address(const sockaddr_storage& a, std::string* ip, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    *port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    *port = ntohs(v6->sin6_port);
  }
  *ip = buf;
}

}  // namespace

struct HttpFront::Conn {
  std::mutex mu;
  uint64_t id = 0;
  int fd = -1;
  std::string peer_ip, local_ip;
  int peer_port = 0, local_port = 0;

  enum class State { kReading, kWriting, kLingering, kClosed } state = State::kReading;
  std::string in;  // received, not yet framed
  bool eof = false;
  bool in_request = false;  // some of a request has arrived (its clock runs)
  Clock::time_point request_start, idle_since, write_start, linger_until;
  size_t lingered = 0;

  // The request being framed.
  bool have_head = false;
  std::string head;  // request line and kept header lines, each ending in CRLF
  enum class Body { kNone, kLength, kChunked } body_mode = Body::kNone;
  uint64_t remaining = 0;  // kLength: bytes to come; kChunked: bytes of the current chunk
  enum class Chunk { kSize, kData, kDataEnd, kTrailer } chunk = Chunk::kSize;
  size_t trailer_bytes = 0;
  std::string body;

  // The answer being written.
  std::string out;
  size_t out_off = 0;
  bool close_after = false;

  void ResetRequest() {
    have_head = false;
    head.clear();
    body_mode = Body::kNone;
    remaining = 0;
    chunk = Chunk::kSize;
    trailer_bytes = 0;
    if (body.capacity() > kReadChunk) std::string().swap(body);
    body.clear();
  }
};

namespace {

// An httplib::Stream over one framed request; what the router writes goes to `out`.
class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(const std::string& in, std::string* out, const HttpFront::Conn& c)
      : in_(in), out_(out), c_(c) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_->append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer_ip;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  // Not a socket: nothing may select() on it (and cpp-httplib answers 500 to sockets >= 1024).
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  const std::string& in_;
  size_t pos_ = 0;
  std::string* out_;
  const HttpFront::Conn& c_;
};

enum class Frame { kNeedMore, kComplete, kError };
struct FrameError {
  int status = 400;
  std::string message;
};

Frame Fail(FrameError* err, int status, std::string message) {
  err->status = status;
  err->message = std::move(message);
  return Frame::kError;
}

// The request line and header lines (each ending in CRLF, without the blank line).
Frame ParseHead(std::string_view block, const FrontOptions& o, HttpFront::Conn& c, FrameError* err,
                bool* expect_continue) {
  bool first = true, chunked = false, has_length = false;
  uint64_t length = 0;
  size_t lines = 0;
  std::string head;
  for (size_t pos = 0; pos < block.size();) {
    const size_t e = block.find("\r\n", pos);
    std::string_view line = block.substr(pos, e - pos);
    pos = e + 2;
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
      return Fail(err, 400, "a bare CR, LF or NUL in the request head");
    if (first) {
      if (line.empty()) return Fail(err, 400, "no request line");
      if (line.size() > kMaxRequestLine)
        return Fail(err, 414, absl::StrCat("the request line is over ", kMaxRequestLine, " bytes"));
      head.append(line).append("\r\n");
      first = false;
      continue;
    }
    if (++lines > o.max_header_lines)
      return Fail(err, 431, absl::StrCat("more than ", o.max_header_lines, " header lines"));
    if (line.empty() || line[0] == ' ' || line[0] == '\t')
      return Fail(err, 400, "folded header lines are not supported");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Fail(err, 400, "a header line without a name");
    const std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar))
      return Fail(err, 400, "a header name with a space or a control character");
    const std::string_view value = Trim(line.substr(colon + 1));
    const std::string lname = Lower(name), lvalue = Lower(value);
    if (lname == "content-length") {
      if (has_length) return Fail(err, 400, "more than one Content-Length");
      if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), absl::ascii_isdigit))
        return Fail(err, 400, "Content-Length " + Quote(value) + " is not a number");
      for (char d : value) length = length * 10 + static_cast<uint64_t>(d - '0');
      has_length = true;
    } else if (lname == "transfer-encoding") {
      if (chunked) return Fail(err, 400, "more than one Transfer-Encoding");
      if (lvalue != "chunked")
        return Fail(err, 501, "Transfer-Encoding " + Quote(value) + " is not supported (only chunked)");
      chunked = true;
    } else if (lname == "content-encoding") {
      if (lvalue != "identity")
        return Fail(err, 415, "Content-Encoding " + Quote(value) + " is not supported: send the body uncompressed");
    } else if (lname == "expect") {
      if (lvalue != "100-continue") return Fail(err, 417, "Expect " + Quote(value) + " is not supported");
      *expect_continue = true;
    } else if (lname == "range" || lname == "if-range") {
      // Dropped: the answers are small JSON, and cpp-httplib would build a multipart answer with
      // a copy of the body per range (thousands fit in the head).
    } else {
      head.append(line).append("\r\n");
    }
  }
  if (has_length && chunked) return Fail(err, 400, "both Content-Length and Transfer-Encoding");
  if (has_length && length > o.max_body_bytes)
    return Fail(err, 413, absl::StrCat("the body is ", length, " bytes, over the limit of ", o.max_body_bytes,
                                       " (--max-body-bytes)"));
  c.head = std::move(head);
  c.body_mode = chunked ? HttpFront::Conn::Body::kChunked
                        : length > 0 ? HttpFront::Conn::Body::kLength : HttpFront::Conn::Body::kNone;
  c.remaining = length;
  c.chunk = HttpFront::Conn::Chunk::kSize;
  c.have_head = true;
  if (c.body_mode == HttpFront::Conn::Body::kNone) *expect_continue = false;
  return Frame::kComplete;
}

Frame ParseBody(const FrontOptions& o, HttpFront::Conn& c, FrameError* err) {
  using Body = HttpFront::Conn::Body;
  using Chunk = HttpFront::Conn::Chunk;
  auto take = [&c] {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(c.remaining, c.in.size()));
    c.body.append(c.in, 0, n);
    c.in.erase(0, n);
    c.remaining -= n;
  };
  if (c.body_mode == Body::kNone) return Frame::kComplete;
  if (c.body_mode == Body::kLength) {
    take();
    return c.remaining > 0 ? Frame::kNeedMore : Frame::kComplete;
  }
  for (;;) {
    switch (c.chunk) {
      case Chunk::kSize: {
        const size_t e = c.in.find("\r\n");
        if (e == std::string::npos && c.in.size() <= kMaxChunkSizeLine) return Frame::kNeedMore;
        if (e == std::string::npos || e > kMaxChunkSizeLine)
          return Fail(err, 400, absl::StrCat("a chunk size line over ", kMaxChunkSizeLine, " bytes"));
        std::string_view line(c.in.data(), e);
        std::string_view hex = Trim(line.substr(0, line.find(';')));
        uint64_t size = 0;
        if (hex.empty() || hex.size() > 15 || !std::all_of(hex.begin(), hex.end(), absl::ascii_isxdigit))
          return Fail(err, 400, "a bad chunk size " + Quote(line));
        for (char h : hex) size = size * 16 + static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10);
        c.in.erase(0, e + 2);
        if (size == 0) {
          c.chunk = Chunk::kTrailer;
          break;
        }
        if (size > o.max_body_bytes - c.body.size())
          return Fail(err, 413, absl::StrCat("the chunked body is over the limit of ", o.max_body_bytes,
                                             " bytes (--max-body-bytes)"));
        c.remaining = size;
        c.chunk = Chunk::kData;
        break;
      }
      case Chunk::kData:
        take();
        if (c.remaining > 0) return Frame::kNeedMore;
        c.chunk = Chunk::kDataEnd;
        break;
      case Chunk::kDataEnd:
        if (c.in.size() < 2) return Frame::kNeedMore;
        if (c.in.compare(0, 2, "\r\n") != 0) return Fail(err, 400, "chunk data not followed by CRLF");
        c.in.erase(0, 2);
        c.chunk = Chunk::kSize;
        break;
      case Chunk::kTrailer: {  // trailer fields are read and dropped
        const size_t e = c.in.find("\r\n");
        const size_t line = e == std::string::npos ? c.in.size() : e + 2;
        if (c.trailer_bytes + line > o.max_header_bytes)
          return Fail(err, 431, absl::StrCat("chunked trailers over ", o.max_header_bytes, " bytes"));
        if (e == std::string::npos) return Frame::kNeedMore;
        c.trailer_bytes += line;
        c.in.erase(0, line);
        if (e == 0) return Frame::kComplete;
        break;
      }
    }
  }
}

// Frames the next request from c.in: kComplete when c.head and c.body hold it whole.
Frame Parse(const FrontOptions& o, HttpFront::Conn& c, FrameError* err, bool* expect_continue) {
  if (!c.have_head) {
    size_t skip = 0;  // empty lines before a request line are ignored (RFC 9112, 2.2)
    while (c.in.compare(skip, 2, "\r\n") == 0) skip += 2;
    c.in.erase(0, skip);
    const size_t e = c.in.find("\r\n\r\n");
    if (e == std::string::npos ? c.in.size() > o.max_header_bytes : e + 4 > o.max_header_bytes)
      return Fail(err, 431, absl::StrCat("the request head is over ", o.max_header_bytes, " bytes"));
    if (e == std::string::npos) return Frame::kNeedMore;
    const std::string block = c.in.substr(0, e + 2);
    c.in.erase(0, e + 4);
    Frame f = ParseHead(block, o, c, err, expect_continue);
    if (f == Frame::kError) return f;
  }
  return ParseBody(o, c, err);
}

}  // namespace

HttpFront::HttpFront(FrontOptions options, Router* router) : options_(std::move(options)), router_(router) {}

HttpFront::~HttpFront() {
  for (int fd : {listen_fd_, epoll_fd_, stop_fd_})
    if (fd >= 0) close(fd);
}

absl::StatusOr<int> HttpFront::Bind() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return absl::InvalidArgumentError(absl::StrCat(options_.host, ": ", gai_strerror(rc)));
  std::string why = "no address";
  for (addrinfo* ai = res; ai != nullptr && listen_fd_ < 0; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      listen_fd_ = fd;
    } else {
      why = std::strerror(errno);
      close(fd);
    }
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0)
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", why));
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  std::string ip;
  int bound = 0;
  Address(a, &ip, &bound);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || stop_fd_ < 0) return absl::InternalError(std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kListenId;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.events = EPOLLIN;  // level-triggered: once written, every worker sees it
  ev.data.u64 = kStopId;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  return bound;
}

void HttpFront::Stop() {
  stopping_.store(true);
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t n = write(stop_fd_, &one, sizeof one);
    (void)n;
  }
}

void HttpFront::Log(const std::string& line) {
  if (options_.log) options_.log(line);
}

void HttpFront::Run() {
  running_ = true;
  std::vector<std::thread> workers;
  for (int i = 0; i < options_.threads; ++i) workers.emplace_back([this] { Worker(); });
  while (!stopping_.load()) {
    pollfd p{stop_fd_, POLLIN, 0};
    poll(&p, 1, 100);
    Sweep();
  }
  Stop();  // again: a Stop() before Bind() set only the flag, and the workers wait on the eventfd
  for (std::thread& t : workers) t.join();
  std::vector<std::shared_ptr<Conn>> all;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (auto& [id, c] : conns_) all.push_back(c);
  }
  for (auto& c : all) {
    std::lock_guard<std::mutex> lock(c->mu);
    CloseLocked(*c);
  }
  running_ = false;
}

void HttpFront::Worker() {
  for (;;) {
    epoll_event ev{};
    int n = epoll_wait(epoll_fd_, &ev, 1, -1);  // one at a time: no worker sits on a queue of ready ones
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || ev.data.u64 == kStopId) return;
    if (ev.data.u64 == kListenId) {
      Accept();
    } else {
      OnEvent(ev.data.u64, ev.events);
    }
  }
}

void HttpFront::Accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        Log(absl::StrCat("cannot accept a connection: ", std::strerror(errno), " (retrying in 100 ms)"));
        accept_paused_ = true;  // Sweep re-arms the listener: no busy loop on a full table
        return;
      }
      break;  // EAGAIN: none left
    }
    counters_.accepted.fetch_add(1, std::memory_order_relaxed);
    if (!stopping_.load() && open_.load() >= options_.max_connections) EvictIdle();
    if (stopping_.load() || open_.load() >= options_.max_connections) {
      counters_.refused.fetch_add(1, std::memory_order_relaxed);
      static const std::string busy =
          ErrorResponse(503, "too many connections (--max-connections); retry later");
      ssize_t sent = send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)sent;
      shutdown(fd, SHUT_WR);
      char drain[4096];  // what has arrived already, so that closing sends FIN, not a reset
      while (recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0) {
      }
      close(fd);
      Log(absl::StrCat("503 connection refused: ", open_.load(), " open (--max-connections ",
                       options_.max_connections, ")"));
      continue;
    }
    auto c = std::make_shared<Conn>();
    c->id = next_id_.fetch_add(1);
    c->fd = fd;
    c->idle_since = Clock::now();
    Address(peer, &c->peer_ip, &c->peer_port);
    sockaddr_storage local{};
    len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) Address(local, &c->local_ip, &c->local_port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    open_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(table_mu_);
      conns_[c->id] = c;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = c->id;
    std::lock_guard<std::mutex> lock(c->mu);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) CloseLocked(*c);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kListenId;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
}

// At the connection cap: closes a connection that has had its last answer, or else the one idle
// between requests the longest (keep-alive connections are a convenience; a new client is not
// refused for them).
void HttpFront::EvictIdle() {
  std::vector<std::shared_ptr<Conn>> all;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    all.reserve(conns_.size());
    for (auto& [id, c] : conns_) all.push_back(c);
  }
  std::shared_ptr<Conn> oldest;
  Clock::time_point oldest_since = Clock::time_point::max();
  for (auto& c : all) {
    std::unique_lock<std::mutex> lock(c->mu, std::try_to_lock);
    if (!lock.owns_lock()) continue;
    if (c->state == Conn::State::kLingering) {  // answered; only waiting for the client to close
      oldest = c;
      break;
    }
    if (c->state != Conn::State::kReading || c->in_request || c->idle_since >= oldest_since) continue;
    char b;  // bytes not read yet: a request is arriving, the connection is not idle
    if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0) continue;
    oldest = c;
    oldest_since = c->idle_since;
  }
  if (!oldest) return;
  std::unique_lock<std::mutex> lock(oldest->mu, std::try_to_lock);
  if (lock.owns_lock() && (oldest->state == Conn::State::kLingering ||
                           (oldest->state == Conn::State::kReading && !oldest->in_request))) {
    counters_.evicted.fetch_add(1, std::memory_order_relaxed);
    CloseLocked(*oldest);
  }
}

void HttpFront::Arm(Conn& c, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = c.id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0) CloseLocked(c);
}

void HttpFront::CloseLocked(Conn& c) {
  if (c.state == Conn::State::kClosed) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.state = Conn::State::kClosed;
  std::string().swap(c.in);
  std::string().swap(c.body);
  std::string().swap(c.out);
  open_.fetch_sub(1);
  std::lock_guard<std::mutex> lock(table_mu_);
  conns_.erase(c.id);
}

// After the last answer: stop writing, read (and drop) what the client is still sending for a
// moment, so that closing does not reset the connection before it has read the answer.
void HttpFront::StartLinger(Conn& c) {
  shutdown(c.fd, SHUT_WR);
  c.state = Conn::State::kLingering;
  c.linger_until = Clock::now() + kLinger;
  c.lingered = 0;
  std::string().swap(c.in);
  Arm(c, EPOLLIN);
}

void HttpFront::QueueError(Conn& c, int status, const std::string& message) {
  if (status == 408) counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
  else if (status == 413) counters_.too_large.fetch_add(1, std::memory_order_relaxed);
  else counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
  Log(absl::StrCat(status, " from ", c.peer_ip, ": ", message));
  c.ResetRequest();
  c.in.clear();
  c.in_request = false;
  c.out.append(ErrorResponse(status, message));
  c.close_after = true;
  c.state = Conn::State::kWriting;
}

HttpFront::Flushed HttpFront::Flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (c.write_start == Clock::time_point{}) c.write_start = Clock::now();
      return Flushed::kPending;
    } else {
      return Flushed::kFailed;
    }
  }
  if (c.out.capacity() > kReadChunk) std::string().swap(c.out);
  c.out.clear();
  c.out_off = 0;
  c.write_start = Clock::time_point{};
  return Flushed::kDone;
}

void HttpFront::Answer(Conn& c, std::string request) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  MemoryStream stream(request, &c.out, c);
  const size_t before = c.out.size();
  bool closed = false, ok = false;
  try {
    ok = router_->Serve(stream, stopping_.load(), closed);
  } catch (...) {
    ok = false;
  }
  if (c.out.size() == before) c.out.append(ErrorResponse(500, "internal error"));
  if (!ok || closed || stopping_.load()) c.close_after = true;
  c.state = Conn::State::kWriting;
}

void HttpFront::OnEvent(uint64_t id, uint32_t /*events*/) {
  std::shared_ptr<Conn> c;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    auto it = conns_.find(id);
    if (it == conns_.end()) return;  // closed since the event was queued
    c = it->second;
  }
  std::lock_guard<std::mutex> lock(c->mu);
  if (c->state == Conn::State::kClosed) return;
  if (c->state == Conn::State::kLingering) {
    char buf[kReadChunk];
    for (;;) {
      ssize_t n = recv(c->fd, buf, sizeof buf, 0);
      if (n > 0 && (c->lingered += static_cast<size_t>(n)) <= kLingerBytes) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Arm(*c, EPOLLIN);
      return CloseLocked(*c);
    }
  }
  try {
    Pump(*c);
  } catch (const std::exception& e) {  // out of memory: this connection goes, the gateway stays
    Log(std::string("closing a connection: ") + e.what());
    CloseLocked(*c);
  }
}

void HttpFront::Pump(Conn& c) {
  bool would_block = false;
  int served = 0;
  char buf[kReadChunk];
  for (;;) {
    if (c.state == Conn::State::kWriting) {
      const Flushed f = Flush(c);
      if (f == Flushed::kFailed) return CloseLocked(c);
      if (f == Flushed::kPending) return Arm(c, EPOLLOUT);
      if (c.close_after) return StartLinger(c);
      c.state = Conn::State::kReading;
      c.idle_since = Clock::now();
      if (stopping_.load()) return CloseLocked(c);
      if (++served >= kRequestsPerTurn && !c.in.empty()) return Arm(c, EPOLLIN | EPOLLOUT);  // yield
      continue;
    }
    // Reading. A "100 Continue" may be waiting to go out.
    if (c.out_off < c.out.size() && Flush(c) == Flushed::kFailed) return CloseLocked(c);
    if (!c.in.empty() && !c.in_request) {
      c.in_request = true;
      c.request_start = Clock::now();
    }
    FrameError err;
    bool expect_continue = false;
    const Frame f = Parse(options_, c, &err, &expect_continue);
    if (expect_continue) {
      c.out.append("HTTP/1.1 100 Continue\r\n\r\n");
      if (Flush(c) == Flushed::kFailed) return CloseLocked(c);
    }
    if (f == Frame::kError) {
      QueueError(c, err.status, err.message);
      continue;
    }
    if (f == Frame::kComplete) {
      std::string request = std::move(c.head);
      absl::StrAppend(&request, "Content-Length: ", c.body.size(), "\r\n\r\n", c.body);
      c.ResetRequest();
      c.in_request = !c.in.empty();
      if (c.in_request) c.request_start = Clock::now();
      Answer(c, std::move(request));
      continue;
    }
    if (!c.have_head && c.in.empty()) c.in_request = false;  // only empty lines so far
    if (c.eof) return CloseLocked(c);  // the client went away
    if (!would_block) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        c.eof = true;
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return CloseLocked(c);
      would_block = true;
    }
    return Arm(c, EPOLLIN | (c.out_off < c.out.size() ? EPOLLOUT : 0));
  }
}

void HttpFront::Sweep() {
  if (accept_paused_.exchange(false)) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = kListenId;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
  }
  std::vector<std::shared_ptr<Conn>> all;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    all.reserve(conns_.size());
    for (auto& [id, c] : conns_) all.push_back(c);
  }
  const auto now = Clock::now();
  const auto request_timeout = std::chrono::seconds(options_.request_timeout_s);
  const auto keep_alive = std::chrono::seconds(options_.keep_alive_s);
  for (auto& cp : all) {
    Conn& c = *cp;
    std::unique_lock<std::mutex> lock(c.mu, std::try_to_lock);
    if (!lock.owns_lock()) continue;  // a worker has it
    switch (c.state) {
      case Conn::State::kReading:
        if (c.in_request && now - c.request_start > request_timeout) {
          QueueError(c, 408, absl::StrCat("the request did not arrive whole within ", options_.request_timeout_s,
                                          " s (--request-timeout-s)"));
          const Flushed f = Flush(c);
          if (f == Flushed::kFailed) CloseLocked(c);
          else if (f == Flushed::kPending) Arm(c, EPOLLOUT);
          else StartLinger(c);
        } else if (!c.in_request && now - c.idle_since > keep_alive) {
          CloseLocked(c);
        }
        break;
      case Conn::State::kWriting:
        if (c.write_start != Clock::time_point{} && now - c.write_start > request_timeout) CloseLocked(c);
        break;
      case Conn::State::kLingering:
        if (now > c.linger_until) CloseLocked(c);
        break;
      case Conn::State::kClosed:
        break;
    }
  }
}

}  // namespace gateway
