// Bad requests to the chat gateway (examples/gateway/gateway.cc), over HTTP as a chat server or an
// attacker sends them: oversized and compressed bodies, slow and idle clients, reloads from paths
// that are not the configured database, too many streams, wrong JSON types, personal data in
// findings and in the log. Each test starts its own gateway on 127.0.0.1 (port 0) and talks to it
// over raw sockets with timeouts, so a gateway that stops answering fails the test instead of
// hanging it. CTest label "gateway".
//
// SCRIPTQA_GATEWAY_UNDER_TEST=<binary> runs the tests against another build (to show that a
// regression test fails before its fix).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::string Program() {
  const char* other = std::getenv("SCRIPTQA_GATEWAY_UNDER_TEST");
  return other != nullptr && *other ? other : SCRIPTQA_GATEWAY;
}

// A connected socket to 127.0.0.1:port with send and receive timeouts (-1 on failure).
int Connect(int port, int timeout_s = 5) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

struct Response {
  int status = -1;  // -1: no answer (timeout, reset)
  std::string head, body;
  json j;  // the body as JSON (discarded when it is not JSON)
  std::string Header(const std::string& name) const {
    std::string lower_head = head;
    for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + name + ":";
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t p = lower_head.find(key);
    if (p == std::string::npos) return "";
    size_t b = p + key.size(), e = head.find("\r\n", b);
    std::string v = head.substr(b, e - b);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }
};

// Reads one response (the connection is closed by the server or has Content-Length).
Response ReadResponse(int fd) {
  Response r;
  std::string data;
  char buf[65536];
  size_t need = std::string::npos;
  for (;;) {
    size_t he = data.find("\r\n\r\n");
    if (he != std::string::npos && need == std::string::npos) {
      r.head = data.substr(0, he);
      std::string cl;
      Response tmp;
      tmp.head = r.head;
      cl = tmp.Header("Content-Length");
      if (!cl.empty()) need = he + 4 + std::stoul(cl);
    }
    if (need != std::string::npos && data.size() >= need) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  size_t he = data.find("\r\n\r\n");
  if (data.compare(0, 9, "HTTP/1.1 ") != 0 || he == std::string::npos) return r;
  r.status = std::atoi(data.c_str() + 9);
  r.head = data.substr(0, he);
  r.body = data.substr(he + 4, need == std::string::npos ? std::string::npos : need - he - 4);
  r.j = json::parse(r.body, nullptr, false);
  return r;
}

// One request on a new connection ("Connection: close").
Response Request(int port, const std::string& method, const std::string& path,
                 const std::string& body = "", const std::string& extra_headers = "",
                 int timeout_s = 5) {
  int fd = Connect(port, timeout_s);
  if (fd < 0) return {};
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    extra_headers;
  if (method != "GET") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  Response r;
  if (SendAll(fd, req)) r = ReadResponse(fd);
  close(fd);
  return r;
}

Response Post(int port, const std::string& path, const json& body, int timeout_s = 5) {
  return Request(port, "POST", path, body.dump(), "", timeout_s);
}

// A gateway process on 127.0.0.1, port 0; stderr in `log`.
class GatewayProcess {
 public:
  GatewayProcess(const std::string& dir, std::vector<std::string> args) : dir_(dir) {
    static int n = 0;
    const std::string tag = dir + "/gw" + std::to_string(++n);
    port_file_ = tag + ".port";
    log_ = tag + ".log";
    args.insert(args.end(), {"--port", "0", "--port-file", port_file_});
    pid_ = fork();
    if (pid_ == 0) {
      int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, 1);
      dup2(err, 2);
      const std::string program = Program();
      std::vector<char*> argv{const_cast<char*>(program.c_str())};
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 3000 && port_ <= 0; ++i) {  // up to 60 s (a loaded CI machine)
      std::ifstream in(port_file_);
      if (!(in >> port_)) port_ = 0;
      if (port_ > 0) break;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // The gateway must stop cleanly on SIGTERM (exit 0): no crash, hang or sanitizer report.
  ~GatewayProcess() {
    const bool started = up();
    const int status = Stop();
    if (started) EXPECT_EQ(status, 0) << "the gateway did not stop cleanly:\n" << log();
  }

  // Stops the gateway (SIGTERM, then SIGKILL after 5 s); returns its exit status.
  int Stop() {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 250; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = -9;
    return exit_status_;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return ReadFile(log_); }
  bool up() const { return port_ > 0; }

 private:
  std::string dir_, port_file_, log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
};

class Gateway : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/scriptqa-gateway-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Compile the default packs once; every gateway below loads the database in milliseconds.
    db_ = dir_ + "/rules.sqdb";
    GatewayProcess compile(dir_, {"--dictionaries", SCRIPTQA_SOURCE_DIR "/dictionaries", "--save-db", db_});
    ASSERT_TRUE(compile.up()) << compile.log();
    compile.Stop();
    struct stat st;
    ASSERT_EQ(stat(db_.c_str(), &st), 0);
    db_size_ = static_cast<size_t>(st.st_size);
  }
  static void TearDownTestSuite() {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }

 protected:
  static std::unique_ptr<GatewayProcess> Start(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--db", db_});
    auto gw = std::make_unique<GatewayProcess>(dir_, args);
    EXPECT_TRUE(gw->up()) << gw->log();
    return gw;
  }

  static inline std::string dir_, db_;
  static inline size_t db_size_ = 0;
};

// Sends a chunked body of up to `total` bytes in 64 KiB chunks, without waiting for the whole
// body to go out before reading: returns the answer and how much was sent before it came.
struct ChunkedResult {
  Response response;
  size_t sent = 0;
  bool stalled = false;  // the server neither read nor answered for 10 s
};
ChunkedResult SendChunked(int port, const std::string& head, size_t total) {
  ChunkedResult out;
  int fd = Connect(port, 10);
  if (fd < 0) return out;
  std::string pending = head;
  const std::string piece(65536, 'a');
  size_t generated = 0;
  bool finished = false;
  for (;;) {
    if (pending.empty() && !finished) {
      if (generated < total) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%zx\r\n", piece.size());
        pending = hex + piece + "\r\n";
        generated += piece.size();
      } else {
        pending = "0\r\n\r\n";
        finished = true;
      }
    }
    pollfd p{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
    int rc = poll(&p, 1, 10000);
    if (rc == 0) {
      out.stalled = true;
      break;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) break;  // the answer (or the end)
    ssize_t n = send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) break;
    if (n > 0) {
      pending.erase(0, static_cast<size_t>(n));
      out.sent += static_cast<size_t>(n);
    }
  }
  out.response = ReadResponse(fd);
  close(fd);
  return out;
}

TEST_F(Gateway, ChunkedBodyOverTheLimitIs413WithoutBeingReadWhole) {
  auto gw = Start();
  ASSERT_TRUE(gw->up());
  const size_t total = 32u << 20;  // 32 MiB offered; the default limit is 1 MiB
  ChunkedResult r = SendChunked(gw->port(),
                                "POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n",
                                total);
  EXPECT_FALSE(r.stalled);
  EXPECT_EQ(r.response.status, 413) << r.response.head << "\n" << r.response.body;
  EXPECT_TRUE(r.response.j.is_object() && r.response.j.contains("error")) << r.response.body;
  // The answer came long before the body could have been read whole.
  EXPECT_LT(r.sent, total / 2);
  // A chunked body within the limit is read as usual.
  std::string body = json{{"text", "这款是最佳选择"}}.dump();
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx", body.size());
  int fd = Connect(gw->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /check HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
                              std::string(hex) + "\r\n" + body + "\r\n0\r\n\r\n"));
  Response ok = ReadResponse(fd);
  close(fd);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j.value("verdict", ""), "review") << ok.body;
  EXPECT_EQ(Request(gw->port(), "GET", "/healthz").status, 200);
}

TEST_F(Gateway, BodiesOverTheLimitAndCompressedBodiesAreRefused) {
  auto gw = Start({"--max-body-bytes", "4096"});
  ASSERT_TRUE(gw->up());
  // Content-Length over the limit.
  Response big = Post(gw->port(), "/check", json{{"text", std::string(5000, 'a')}});
  EXPECT_EQ(big.status, 413) << big.body;
  // A gzip body that inflates past the limit (1 MiB of text from a few KiB).
  std::string plain = json{{"text", std::string(1 << 20, 'a')}}.dump();
  uLongf zlen = compressBound(plain.size()) + 32;
  std::string gz(zlen, '\0');
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(plain.data());
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  ASSERT_LT(gz.size(), 4096u);
  Response bomb = Request(gw->port(), "POST", "/check", gz, "Content-Encoding: gzip\r\n");
  EXPECT_EQ(bomb.status, 415) << bomb.body;
  EXPECT_TRUE(bomb.j.is_object() && bomb.j.contains("error")) << bomb.body;
  // A streamed message may not grow past the limit either: the fifth 1,000-byte chunk is refused
  // and the conversation is dropped.
  for (int i = 0; i < 5; ++i) {
    Response r = Post(gw->port(), "/stream", json{{"conversation_id", "long"}, {"chunk", std::string(1000, 'b')}});
    if (i < 4) {
      EXPECT_EQ(r.status, 200) << i << " " << r.body;
    } else {
      EXPECT_EQ(r.status, 413) << r.body;
    }
  }
  EXPECT_EQ(Request(gw->port(), "GET", "/stats").j.value("open_sessions", -1), 0);
  EXPECT_EQ(Request(gw->port(), "GET", "/healthz").status, 200);
}

// Requests the gateway frames itself: ambiguous or unsupported framing is refused, pipelined
// requests are answered in order, "Expect: 100-continue" gets its interim answer.
TEST_F(Gateway, FramingErrorsAreRefusedPipeliningAndContinueWork) {
  auto gw = Start();
  ASSERT_TRUE(gw->up());
  auto raw = [&](const std::string& request) {
    int fd = Connect(gw->port());
    if (fd < 0) return Response{};
    Response r;
    if (SendAll(fd, request)) r = ReadResponse(fd);
    close(fd);
    return r;
  };
  const std::string post = "POST /check HTTP/1.1\r\nHost: x\r\n";
  const std::string body = R"({"text":"hi"})";
  struct Case {
    std::string request;
    int status;
  } cases[] = {
      {post + "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n" + body, 400},  // smuggling
      {post + "Content-Length: 13\r\nContent-Length: 14\r\n\r\n" + body, 400},
      {post + "Content-Length: 1x\r\n\r\n" + body, 400},
      {post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n", 400},
      {post + "Transfer-Encoding: chunked\r\n\r\nd\r\n" + body + "XX0\r\n\r\n", 400},
      {post + "No colon here\r\nContent-Length: 13\r\n\r\n" + body, 400},
      {post + " folded: line\r\nContent-Length: 13\r\n\r\n" + body, 400},
      {post + "Expect: something\r\nContent-Length: 13\r\n\r\n" + body, 417},
  };
  for (const Case& c : cases) {
    Response r = raw(c.request);
    EXPECT_EQ(r.status, c.status) << c.request << "\n-> " << r.head << "\n" << r.body;
    EXPECT_TRUE(r.j.is_object() && r.j.contains("error")) << r.body;
  }
  // Three requests in one write: three answers, in order.
  int fd = Connect(gw->port());
  ASSERT_GE(fd, 0);
  const std::string check = post + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + check +
                              "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t a = all.find("HTTP/1.1 200"), b = all.find("HTTP/1.1 200", a + 1), c = all.find("HTTP/1.1 404");
  EXPECT_TRUE(a != std::string::npos && b != std::string::npos && c != std::string::npos && a < b && b < c) << all;
  EXPECT_NE(all.find("\"verdict\""), std::string::npos) << all;
  // Expect: 100-continue: the interim answer comes before the body is sent.
  fd = Connect(gw->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, post + "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n"));
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
  ASSERT_TRUE(SendAll(fd, body));
  Response r = ReadResponse(fd);
  close(fd);
  EXPECT_EQ(r.status, 200) << r.body;
}

// Clients that open connections and then send a header line every second (or nothing at all)
// must not stop the gateway from answering others.
TEST_F(Gateway, SixtyFourSlowClientsDoNotStopHealthz) {
  auto gw = Start();  // the default: 32 worker threads
  ASSERT_TRUE(gw->up());
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) {
    int fd = Connect(gw->port());
    ASSERT_GE(fd, 0) << i;
    slow.push_back(fd);
  }
  // Half of them start a request and keep it open with a header line every second; the other
  // half send nothing.
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    for (size_t i = 0; i < slow.size(); i += 2)
      SendAll(slow[i], "POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    while (!stop) {
      for (size_t i = 0; i < slow.size(); i += 2) (void)send(slow[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
      for (int k = 0; k < 10 && !stop; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int k = 0; k < 3; ++k) {
    auto t0 = Clock::now();
    Response h = Request(gw->port(), "GET", "/healthz", "", "", 3);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(h.status, 200) << "healthz " << k << " after " << s << " s";
    Response c = Post(gw->port(), "/check", json{{"text", "这款是最佳选择"}}, 3);
    EXPECT_EQ(c.status, 200) << "check " << k;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  stop = true;
  dribble.join();
  for (int fd : slow) close(fd);
}

// A request must arrive whole within --request-timeout-s: a client that is still sending its
// headers after that gets 408 and the connection is closed.
TEST_F(Gateway, RequestThatNeverEndsGets408) {
  auto gw = Start({"--request-timeout-s", "1"});
  ASSERT_TRUE(gw->up());
  int fd = Connect(gw->port(), 10);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  Response r;
  for (int i = 0; i < 8 && r.status < 0; ++i) {  // a header line every 0.5 s, for at most 4 s
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (!SendAll(fd, "X-Slow: 1\r\n")) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) r = ReadResponse(fd);
  }
  if (r.status < 0) r = ReadResponse(fd);
  close(fd);
  EXPECT_EQ(r.status, 408) << r.head;
  // Headers over the size limit: 431.
  Response huge = Request(gw->port(), "GET", "/healthz", "", "X-Big: " + std::string(20000, 'x') + "\r\n");
  EXPECT_EQ(huge.status, 431) << huge.head;
  EXPECT_EQ(Request(gw->port(), "GET", "/healthz").status, 200);
}

// At --max-connections: the connection idle the longest between requests is closed to make room
// for a new one; when every connection is in the middle of a request, a new one is refused (503).
TEST_F(Gateway, ConnectionsOverTheCapEvictIdleOnesOrAreRefused) {
  auto gw = Start({"--max-connections", "8"});
  ASSERT_TRUE(gw->up());
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) {
    int fd = Connect(gw->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Request(gw->port(), "GET", "/healthz").status, 200);  // an idle one made room
  for (int fd : idle) close(fd);
  std::vector<int> busy;  // each in the middle of its request
  // One may be refused (503) while the gateway is still closing the idle ones the client closed
  // (a connection a worker is closing cannot be evicted): such a one is replaced until eight are
  // in place, each quiet 300 ms after the last was opened.
  for (int round = 0; round < 20 && busy.size() < 8; ++round) {
    while (busy.size() < 8) {
      int fd = Connect(gw->port());
      ASSERT_GE(fd, 0);
      ASSERT_TRUE(SendAll(fd, "POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      busy.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (size_t k = busy.size(); k-- > 0;) {
      pollfd p{busy[k], POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) continue;  // no answer: accepted, its request still open
      close(busy[k]);
      busy.erase(busy.begin() + static_cast<ptrdiff_t>(k));
    }
  }
  ASSERT_EQ(busy.size(), 8u) << "the gateway kept refusing connections below its cap";
  // Until the closed idle ones are gone: each request before that makes room by closing one of
  // them (or the previous request's connection, when the gateway has not yet seen the client
  // close it), which on a loaded machine can take a few seconds.
  Response refused;
  for (int i = 0; i < 100 && refused.status != 503; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    refused = Request(gw->port(), "GET", "/healthz");
  }
  EXPECT_EQ(refused.status, 503) << refused.head;
  close(busy.back());
  busy.pop_back();
  Response ok;
  for (int i = 0; i < 50 && ok.status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ok = Request(gw->port(), "GET", "/healthz");
  }
  EXPECT_EQ(ok.status, 200);
  json stats;
  for (int i = 0; i < 50 && !stats.contains("connections"); ++i) {  // the cap is still full while
    std::this_thread::sleep_for(std::chrono::milliseconds(50));       // the last one closes
    stats = Request(gw->port(), "GET", "/stats").j;
    if (!stats.is_object()) stats = json::object();
  }
  ASSERT_TRUE(stats.contains("connections")) << stats.dump();
  EXPECT_GE(stats["connections"].value("evicted_idle", 0), 1) << stats.dump();
  EXPECT_GE(stats["connections"].value("refused", 0), 1) << stats.dump();
  for (int fd : busy) close(fd);
}

// POST /reload {"database": PATH} only reads the configured database or a regular file inside
// --reload-dir, of at most --max-db-bytes.
TEST_F(Gateway, ReloadOnlyFromTheConfiguredFileOrDirectory) {
  const std::string fifo = dir_ + "/pipe.sqdb";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  {
    auto gw = Start();
    ASSERT_TRUE(gw->up());
    // A FIFO: refused at once (it used to block a thread forever).
    Response r = Post(gw->port(), "/reload", json{{"database", fifo}});
    ASSERT_EQ(r.status, 403) << r.body;
    EXPECT_NE(r.j.value("error", "").find("--reload-dir"), std::string::npos) << r.body;
    for (const std::string& path : {std::string("/dev/zero"), std::string("/etc/passwd"), dir_}) {
      Response o = Post(gw->port(), "/reload", json{{"database", path}});
      EXPECT_EQ(o.status, 403) << path << " " << o.body;
    }
    // The configured database, by default or by any name for it.
    Response same = Post(gw->port(), "/reload", json::object());
    EXPECT_EQ(same.status, 200) << same.body;
    Response by_name = Post(gw->port(), "/reload", json{{"database", dir_ + "/./rules.sqdb"}});
    EXPECT_EQ(by_name.status, 200) << by_name.body;
    EXPECT_GT(by_name.j.value("generation", 0), same.j.value("generation", 0));
  }
  const std::string reloads = dir_ + "/reloads";
  ASSERT_EQ(mkdir(reloads.c_str(), 0755), 0);
  WriteFile(reloads + "/copy.sqdb", ReadFile(db_));
  WriteFile(reloads + "/big.sqdb", ReadFile(db_) + std::string(1000, 'x'));
  ASSERT_EQ(mkfifo((reloads + "/pipe.sqdb").c_str(), 0600), 0);
  WriteFile(dir_ + "/other.sqdb", ReadFile(db_));  // a database outside the directory
  ASSERT_EQ(symlink((dir_ + "/other.sqdb").c_str(), (reloads + "/outside.sqdb").c_str()), 0);
  ASSERT_EQ(symlink(db_.c_str(), (reloads + "/configured.sqdb").c_str()), 0);
  ASSERT_EQ(symlink("/dev/zero", (reloads + "/zero.sqdb").c_str()), 0);
  ASSERT_EQ(mkdir((reloads + "/sub").c_str(), 0755), 0);
  auto gw = Start({"--reload-dir", reloads, "--max-db-bytes", std::to_string(db_size_ + 10)});
  ASSERT_TRUE(gw->up());
  struct Case {
    std::string path;
    int status;
  } cases[] = {
      {"copy.sqdb", 200},
      {reloads + "/copy.sqdb", 200},
      {"pipe.sqdb", 422},           // not a regular file
      {"sub", 422},                 // a directory
      {"big.sqdb", 422},            // larger than --max-db-bytes
      {"missing.sqdb", 404},
      {"outside.sqdb", 403},        // a link out of the directory
      {"configured.sqdb", 200},     // a link to the configured database
      {"zero.sqdb", 403},
      {"../other.sqdb", 403},
      {"/dev/zero", 403},
  };
  for (const Case& c : cases) {
    Response r = Post(gw->port(), "/reload", json{{"database", c.path}});
    EXPECT_EQ(r.status, c.status) << c.path << " " << r.body;
    if (c.status != 200) EXPECT_TRUE(r.j.contains("error") && r.j.contains("generation")) << r.body;
  }
  EXPECT_EQ(Post(gw->port(), "/check", json{{"text", "这款是最佳选择"}}).j.value("verdict", ""), "review");
}

// Open streams are capped (--max-sessions): a new conversation past the cap is refused with 503
// and a message naming the flag; finishing one makes room.
TEST_F(Gateway, StreamsInFlightAreCapped) {
  auto gw = Start({"--max-sessions", "8"});
  ASSERT_TRUE(gw->up());
  for (int i = 0; i < 8; ++i) {
    Response r = Post(gw->port(), "/stream", json{{"conversation_id", "c" + std::to_string(i)}, {"chunk", "你好"}});
    ASSERT_EQ(r.status, 200) << i << " " << r.body;
  }
  Response over = Post(gw->port(), "/stream", json{{"conversation_id", "c8"}, {"chunk", "你好"}});
  EXPECT_EQ(over.status, 503) << over.body;
  EXPECT_NE(over.j.value("error", "").find("--max-sessions"), std::string::npos) << over.body;
  // A conversation already open continues.
  EXPECT_EQ(Post(gw->port(), "/stream", json{{"conversation_id", "c3"}, {"chunk", "，在吗"}}).status, 200);
  EXPECT_EQ(Request(gw->port(), "GET", "/stats").j.value("open_sessions", -1), 8);
  Response fin = Post(gw->port(), "/stream", json{{"conversation_id", "c0"}, {"chunk", ""}, {"final", true}});
  EXPECT_EQ(fin.status, 200) << fin.body;
  EXPECT_EQ(fin.j.value("release", ""), "你好");
  EXPECT_EQ(Post(gw->port(), "/stream", json{{"conversation_id", "c8"}, {"chunk", "你好"}}).status, 200);
}

// Every malformed request gets 400 with a JSON error message, never 500.
TEST_F(Gateway, BadFlagsAreUsageErrorsNamingTheFlag) {
  // Parsed by CLI11: no server starts, exit 2, and the message names the flag.
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--port", "80x"}, "--port"},       {{"--port", "70000"}, "--port"},
      {{"--threads", "0"}, "--threads"},   {{"--max-body-bytes", "nan"}, "--max-body-bytes"},
      {{"--port"}, "--port"},              {{"--frobnicate"}, "--frobnicate"},
      {{"--db", "x", "--dictionaries", "y"}, "--dictionaries"},
  };
  for (const Case& c : cases) {
    std::string cmd = Program();
    for (const std::string& a : c.args) cmd += " '" + a + "'";
    const std::string err = dir_ + "/flags.err";
    int status = std::system((cmd + " >/dev/null 2>'" + err + "'").c_str());
    ASSERT_TRUE(WIFEXITED(status)) << cmd;
    EXPECT_EQ(WEXITSTATUS(status), 2) << cmd;
    EXPECT_NE(ReadFile(err).find(c.says), std::string::npos) << cmd << ": " << ReadFile(err);
  }
  int help = std::system((Program() + " --help >/dev/null 2>&1").c_str());
  EXPECT_TRUE(WIFEXITED(help) && WEXITSTATUS(help) == 0);
}

TEST_F(Gateway, WrongJsonTypesGive400) {
  auto gw = Start();
  ASSERT_TRUE(gw->up());
  struct Case {
    const char* path;
    std::string body;
  } cases[] = {
      {"/check", ""},
      {"/check", "not json"},
      {"/check", "[]"},
      {"/check", R"({"text": 5})"},
      {"/check", R"({"text": "x", "shop": 5})"},
      {"/check", R"({"text": "x", "rewrite": "yes"})"},
      {"/check", R"({"text": "x", "overlap_all": 1})"},
      {"/check", R"({"text": "x", "min_severity": 5})"},
      {"/check", R"({"text": "x", "min_severity": "high"})"},
      {"/check", R"({"text": "x", "min_severty": "block"})"},  // a misspelt field is not ignored
      {"/stream", R"({"conversation_id": "c", "chunk": 5})"},
      {"/stream", R"({"conversation_id": "c", "chunk": "x", "final": "yes"})"},
      {"/stream", R"({"conversation_id": 5, "chunk": "x"})"},
      {"/stream", R"({"conversation_id": "c", "chunk": "x", "shop": []})"},
      {"/stream", R"({"conversation_id": "", "chunk": "x"})"},
      {"/reload", R"({"database": 5})"},
      {"/reload", "[]"},
      {"/profile", R"({"name": 5, "options": {}})"},
      {"/profile", R"({"name": "p", "options": []})"},
      {"/profile", R"({"name": "p", "options": {"disabled": "ad_law.best"}})"},
      {"/profile", R"({"name": "p", "options": {"allow_terms": [1, 2]}})"},
      {"/profile", R"({"name": "p", "options": {"deny_severity": 5}})"},
      {"/profile", R"({"name": "p", "options": {"deny_category": ["x"]}})"},
      {"/profile", R"({"name": "p", "options": {"category_severity": {"ad_law": 5}}})"},
      {"/profile", R"({"name": "p", "options": {"rule_severity": [1]}})"},
      {"/profile", R"({"name": "p", "options": {"category_severity": {"ad_law.best": "block"}}})"},
      {"/profile", R"({"name": "p", "options": {"severity_overrides": {"review": "block"}}})"},
      {"/profile", R"({"name": "p", "options": {"enabled_categories": {"a": 1}}})"},
  };
  for (const Case& c : cases) {
    Response r = Request(gw->port(), "POST", c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << " -> " << r.body;
    EXPECT_TRUE(r.j.is_object() && r.j.contains("error") && r.j["error"].is_string() &&
                !r.j["error"].get<std::string>().empty())
        << c.path << " " << c.body << " -> " << r.body;
  }
  // Not found and wrong methods are JSON errors too.
  Response nf = Request(gw->port(), "GET", "/nothing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_TRUE(nf.j.is_object() && nf.j.contains("error")) << nf.body;
  EXPECT_EQ(Request(gw->port(), "GET", "/healthz").status, 200);
}

// A message full of findings: the answer lists at most --max-findings (default 1,000) and counts
// the rest, instead of a JSON answer 60 times the size of the request (a 1 MiB message of "最佳"
// gave a 62 MB answer and 600 MB of memory for one request).
TEST_F(Gateway, AnswersListAtMostMaxFindings) {
  auto gw = Start();
  ASSERT_TRUE(gw->up());
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "最佳";
  Response r = Post(gw->port(), "/check", json{{"text", text}}, 30);
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.j.value("verdict", ""), "review");
  EXPECT_EQ(r.j["findings"].size(), 1000u);
  EXPECT_EQ(r.j.value("findings_omitted", 0), 39000);
  EXPECT_LT(r.body.size(), 1000000u);
  auto small = Start({"--max-findings", "3"});
  ASSERT_TRUE(small->up());
  Response s = Post(small->port(), "/stream", json{{"conversation_id", "c"}, {"chunk", "最佳最佳最佳最佳最佳"}, {"final", true}});
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.j["new_findings"].size(), 3u) << s.body;
  EXPECT_EQ(s.j.value("findings_omitted", 0), 2) << s.body;
}

// Findings carry the matched text (the caller's own message) and its masked form; nothing the
// gateway logs shows personal data.
TEST_F(Gateway, FindingsCarryTheMaskedFormAndTheLogIsMasked) {
  auto gw = Start();
  ASSERT_TRUE(gw->up());
  const std::string phone = "13812345678", masked_phone = "138****5678";
  const std::string text = "好的，加微信 " + phone + " 聊";
  Response r = Post(gw->port(), "/check", json{{"text", text}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_FALSE(r.j["findings"].empty()) << r.body;
  bool covers_phone = false;
  for (const json& f : r.j["findings"]) {
    ASSERT_TRUE(f.contains("masked") && f["masked"].is_string()) << f.dump();
    const std::string matched = f["matched"].get<std::string>(), masked = f["masked"].get<std::string>();
    EXPECT_EQ(masked.size(), matched.size()) << f.dump();
    EXPECT_EQ(masked.find(phone), std::string::npos) << f.dump();
    if (matched.find(phone) != std::string::npos) {
      covers_phone = true;
      EXPECT_NE(masked.find(masked_phone), std::string::npos) << f.dump();
    }
  }
  EXPECT_TRUE(covers_phone) << r.body;
  // The same message streamed in pieces.
  std::vector<std::string> pieces = {"好的，加微信 138", "12345678", " 聊"};
  json found = json::array();
  for (size_t i = 0; i < pieces.size(); ++i) {
    Response s = Post(gw->port(), "/stream", json{{"conversation_id", "pd"}, {"chunk", pieces[i]}, {"final", i + 1 == pieces.size()}});
    ASSERT_EQ(s.status, 200) << s.body;
    for (const json& f : s.j["new_findings"]) found.push_back(f);
  }
  ASSERT_FALSE(found.empty());
  for (const json& f : found) {
    ASSERT_TRUE(f.contains("masked") && f["masked"].is_string()) << f.dump();
    EXPECT_EQ(f["masked"].get<std::string>().find(phone), std::string::npos) << f.dump();
  }
  // Requests that make the gateway log caller data: an unknown shop, a reload path.
  Response shop = Post(gw->port(), "/check", json{{"text", "你好"}, {"shop", "shop-" + phone}});
  EXPECT_EQ(shop.status, 404) << shop.body;
  Response reload = Post(gw->port(), "/reload", json{{"database", "/tmp/" + phone + ".sqdb"}});
  EXPECT_EQ(reload.status, 403) << reload.body;
  gw->Stop();
  const std::string log = gw->log();
  EXPECT_EQ(log.find(phone), std::string::npos) << log;
  EXPECT_NE(log.find("shop-" + masked_phone), std::string::npos) << log;
  EXPECT_NE(log.find("/tmp/" + masked_phone + ".sqdb"), std::string::npos) << log;
}

}  // namespace
