// Adversarial input families and a work counter, shared by the resource-limit test
// (limits_test.cc, in CTest) and the measuring tool (limits_tool.cc, by hand and from
// tools/ci/linearity.sh). docs/reliability.md has the measured figures.
#ifndef SCRIPTQA_TESTS_FUZZ_LIMITS_UTIL_H_
#define SCRIPTQA_TESTS_FUZZ_LIMITS_UTIL_H_

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

namespace scriptqa::limits {

// One family of growing messages: Make(k) repeats a unit k times (or builds something of size
// proportional to k).
struct Family {
  const char* name;
  const char* what;
  std::function<std::string(size_t)> make;
};

inline std::string Repeat(std::string_view unit, size_t k) {
  std::string s;
  s.reserve(unit.size() * k);
  for (size_t i = 0; i < k; ++i) s.append(unit);
  return s;
}

inline const std::vector<Family>& Families() {
  static const std::vector<Family> k = {
      {"plain", "ordinary service text, no hit", [](size_t n) { return Repeat("您好，订单已经发出，请耐心等待。", n); }},
      {"best", "a banned term repeated: one finding per repetition", [](size_t n) { return Repeat("最佳", n); }},
      {"best_spaced", "the banned term between ordinary text", [](size_t n) { return Repeat("最佳，好的", n); }},
      {"allow_context", "every hit inside an allow-context", [](size_t n) { return Repeat("最佳饮用时间", n); }},
      {"partial", "a prefix of a banned phrase, repeated (partial matches)", [](size_t n) { return Repeat("加微", n); }},
      {"digits", "one long run of digits against the privacy regexes", [](size_t n) { return Repeat("1", n * 6); }},
      {"phones_joined", "valid mobile numbers with nothing between them", [](size_t n) { return Repeat("13812345678", n); }},
      {"phones", "valid mobile numbers, separated", [](size_t n) { return Repeat("13812345678，", n); }},
      {"negated", "hits behind negation cues", [](size_t n) { return Repeat("不能加微信", n); }},
      {"contact_ids", "off-platform contact ids", [](size_t n) { return Repeat("加微信abc123", n); }},
      {"overlaps", "overlapping hits of one category", [](size_t n) { return Repeat("加微信", n); }},
      {"expansions", "characters that normalise to several (℡ -> tel)", [](size_t n) { return Repeat("℡", n * 2); }},
      {"invalid_utf8", "invalid bytes", [](size_t n) { return Repeat("\xff", n * 6); }},
      {"letters", "one long run of ASCII letters (e-mail and id regexes)", [](size_t n) { return Repeat("a", n * 6); }},
  };
  return k;
}

inline const Family* FindFamily(std::string_view name) {
  for (const Family& f : Families())
    if (name == f.name) return &f;
  return nullptr;
}

// User-space instructions of this thread (perf_event_open), or thread CPU nanoseconds where the
// kernel does not give hardware counters (virtual machines often do not). `unit()` says which.
class WorkCounter {
 public:
  WorkCounter() {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_HARDWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fd_ = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    if (fd_ >= 0) {  // some hypervisors accept the event but never count
      uint64_t n = Measure([] {
        volatile uint64_t x = 0;
        for (int i = 0; i < 100000; ++i) x = x + static_cast<uint64_t>(i);
      });
      if (n < 100000) {
        close(fd_);
        fd_ = -1;
      }
    }
  }
  ~WorkCounter() {
    if (fd_ >= 0) close(fd_);
  }
  const char* unit() const { return fd_ >= 0 ? "instructions" : "cpu-ns"; }

  uint64_t Measure(const std::function<void()>& fn) {
    if (fd_ >= 0) {
      ioctl(fd_, PERF_EVENT_IOC_RESET, 0);
      ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0);
      fn();
      ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0);
      uint64_t n = 0;
      if (read(fd_, &n, sizeof n) != sizeof n) n = 0;
      return n;
    }
    timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    fn();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    return static_cast<uint64_t>((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
  }

 private:
  int fd_ = -1;
};

// The operations whose cost must grow linearly with the message.
enum class Op { kScan, kExplain, kRewrite, kStream1, kStream64 };
inline const char* OpName(Op op) {
  switch (op) {
    case Op::kScan: return "scan";
    case Op::kExplain: return "explain";
    case Op::kRewrite: return "rewrite";
    case Op::kStream1: return "stream1";
    case Op::kStream64: return "stream64";
  }
  return "?";
}
inline const std::vector<Op>& AllOps() {
  static const std::vector<Op> k = {Op::kScan, Op::kExplain, Op::kRewrite, Op::kStream1,
                                    Op::kStream64};
  return k;
}

// Runs `op` on `text`; returns the number of findings (or -1 on error).
inline long RunOp(Op op, const std::shared_ptr<const Filter>& filter, Scanner& scanner,
                  const std::string& text) {
  switch (op) {
    case Op::kScan: {
      auto r = scanner.Scan(text);
      return r.ok() ? static_cast<long>(r->size()) : -1;
    }
    case Op::kExplain: {
      auto r = scanner.Explain(text);
      return r.ok() ? static_cast<long>(r->findings.size()) : -1;
    }
    case Op::kRewrite: {
      auto r = scanner.Rewrite(text);
      return r.ok() ? static_cast<long>(r->replaced.size()) : -1;
    }
    case Op::kStream1:
    case Op::kStream64: {
      const size_t chunk = op == Op::kStream1 ? 1 : 64;
      StreamOptions so;
      so.min_scan_bytes = op == Op::kStream1 ? 0 : 32;
      auto s = StreamScanner::Create(filter, so);
      if (!s.ok()) return -1;
      for (size_t p = 0; p < text.size(); p += chunk)
        if (!s->Write(std::string_view(text).substr(p, chunk)).ok()) return -1;
      auto u = s->Finish();
      return u.ok() ? static_cast<long>(s->findings().size()) : -1;
    }
  }
  return -1;
}

}  // namespace scriptqa::limits

#endif  // SCRIPTQA_TESTS_FUZZ_LIMITS_UTIL_H_
