// Measures the resource behaviour of scriptqa (issue 8, part 3; not a test — limits_test.cc has
// the CTest checks). docs/reliability.md quotes its output.
//
//   limits_tool linearity [--sizes=1000,4000,16000] [--families=a,b] [--ops=scan,explain,...]
//       work (instructions, or thread CPU time without hardware counters) of each operation on
//       each adversarial family at growing sizes, and the growth exponent (1 = linear, 2 =
//       quadratic) between the first and the last size.
//   limits_tool run FAMILY OP K
//       one operation on one message, with callgrind instrumentation on only around it
//       (tools/ci/linearity.sh runs this under valgrind --tool=callgrind --instr-atstart=no).
//   limits_tool holdback FAMILY K CHUNK
//       the largest number of bytes a StreamScanner holds back while the message is fed.
//   limits_tool compile [--timeout=S] [--memory-mb=M] [--cases=name,...]
//       compile time, peak memory and outcome of pathological user dictionaries (each in a child
//       process with a CPU-time and address-space limit, so a runaway case is reported, not hung).
//   limits_tool messages [--only=SUBSTRING] [--timeout=S] [--memory-mb=M]
//       time and peak memory of very large messages and of messages with very many findings.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "limits_util.h"
#include "scriptqa/scanner.h"

namespace scriptqa::limits {
namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t e = s.find(',', p);
    if (e == std::string::npos) e = s.size();
    if (e > p) out.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) return a.substr(name.size() + 3);
  }
  return def;
}

std::shared_ptr<const Filter> Default() {
  auto f = Filter::Default();
  if (!f.ok()) {
    std::fprintf(stderr, "default packs: %s\n", std::string(f.status().message()).c_str());
    std::exit(1);
  }
  return *f;
}

bool ParseOp(const std::string& s, Op* op) {
  for (Op o : AllOps())
    if (s == OpName(o)) {
      *op = o;
      return true;
    }
  return false;
}

int Linearity(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (const std::string& s : Split(Flag(argc, argv, "sizes", "1000,4000,16000")))
    sizes.push_back(std::stoul(s));
  std::vector<std::string> fams = Split(Flag(argc, argv, "families", ""));
  std::vector<Op> ops;
  for (const std::string& s : Split(Flag(argc, argv, "ops", ""))) {
    Op o;
    if (!ParseOp(s, &o)) {
      std::fprintf(stderr, "unknown op %s\n", s.c_str());
      return 2;
    }
    ops.push_back(o);
  }
  if (ops.empty()) ops = AllOps();
  auto filter = Default();
  auto scanner = Scanner::Create(filter);
  WorkCounter counter;
  std::printf("| family | op | findings at largest |");
  for (size_t k : sizes) std::printf(" %s at k=%zu |", counter.unit(), k);
  std::printf(" exponent |\n|---|---|---|");
  for (size_t i = 0; i < sizes.size(); ++i) std::printf("---|");
  std::printf("---|\n");
  for (const Family& fam : Families()) {
    if (!fams.empty() && std::find(fams.begin(), fams.end(), fam.name) == fams.end()) continue;
    for (Op op : ops) {
      std::vector<double> work;
      long found = 0;
      for (size_t k : sizes) {
        std::string text = fam.make(k);
        uint64_t best = UINT64_MAX;
        for (int rep = 0; rep < 3; ++rep)
          best = std::min(best, counter.Measure([&] { found = RunOp(op, filter, *scanner, text); }));
        work.push_back(static_cast<double>(best));
      }
      std::printf("| %s | %s | %ld |", fam.name, OpName(op), found);
      for (double w : work) std::printf(" %.3g |", w);
      double e = std::log(work.back() / work.front()) /
                 std::log(static_cast<double>(sizes.back()) / static_cast<double>(sizes.front()));
      std::printf(" %.2f |\n", e);
      std::fflush(stdout);
    }
  }
  return 0;
}

// The largest lag (text size - releasable) seen while a message is fed in `chunk`-byte pieces.
int Holdback(int argc, char** argv) {
  if (argc < 5) return 2;
  const Family* fam = FindFamily(argv[2]);
  if (fam == nullptr) return 2;
  std::string text = fam->make(std::stoul(argv[3]));
  const size_t chunk = std::stoul(argv[4]);
  auto filter = Default();
  StreamOptions so;
  so.min_scan_bytes = 0;
  auto s = StreamScanner::Create(filter, so);
  size_t max_lag = 0, at = 0;
  for (size_t p = 0; p < text.size(); p += chunk) {
    auto u = s->Write(std::string_view(text).substr(p, chunk));
    if (!u.ok()) return 1;
    size_t lag = s->text().size() - u->releasable;
    if (lag > max_lag) max_lag = lag, at = s->text().size();
  }
  std::printf("%s k=%s (%zu bytes), chunks of %zu: largest hold-back %zu bytes (at %zu)\n", argv[2],
              argv[3], text.size(), chunk, max_lag, at);
  return 0;
}

int RunOnce(int argc, char** argv) {
  if (argc < 5) return 2;
  const Family* fam = FindFamily(argv[2]);
  Op op;
  if (fam == nullptr || !ParseOp(argv[3], &op)) return 2;
  std::string text = fam->make(std::stoul(argv[4]));
  auto filter = Default();
  auto scanner = Scanner::Create(filter);
  RunOp(op, filter, *scanner, "warm up 加微信 13812345678");
  CALLGRIND_START_INSTRUMENTATION;
  long n = RunOp(op, filter, *scanner, text);
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%s %s k=%s bytes=%zu findings=%ld\n", argv[2], argv[3], argv[4], text.size(), n);
  return 0;
}

// ---- compile cases ----

struct CompileCase {
  std::string name;
  std::string what;
  std::function<std::string()> dictionary;  // a rule file
  bool lift_limits = false;                  // compile with FilterOptions::limits all 0
};

std::string RegexRule(const std::vector<std::string>& regexes) {
  std::string s = "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n";
  for (size_t i = 0; i < regexes.size(); ++i)
    s += "rule p.r" + std::to_string(i) + "\n  regex " + regexes[i] + "\n  reason r\n";
  return s;
}

// n distinct CJK terms of 2–6 characters from a fixed seed (a large term list).
std::string Terms(size_t n) {
  std::mt19937 rng(12345);
  std::string s = "%format scriptqa-terms 1\n%category ad_law\n%severity review\n%reason 清单\n";
  for (size_t i = 0; i < n; ++i) {
    size_t len = 2 + rng() % 5;
    for (size_t c = 0; c < len; ++c) {
      uint32_t cp = 0x4E00 + rng() % 0x5000;
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    s += "\n";
  }
  return s;
}

std::vector<CompileCase> CompileCases() {
  std::vector<CompileCase> v;
  for (size_t n : {1000, 10000, 100000})
    v.push_back({"terms" + std::to_string(n), std::to_string(n) + " CJK terms (term list)",
                 [n] { return Terms(n); }});
  for (size_t n : {100, 1000, 5000}) {
    v.push_back({"alt" + std::to_string(n), std::to_string(n) + "-way alternation in one regex", [n] {
                   std::string r = "(?:";
                   for (size_t i = 0; i < n; ++i) r += (i ? "|" : "") + std::string("w") + std::to_string(i) + "x";
                   return RegexRule({r + ")"});
                 }});
  }
  v.push_back({"regexes1000", "1000 regexes [a-z]{5,20}N (N = 0..999)", [] {
                 std::vector<std::string> r;
                 for (int i = 0; i < 1000; ++i) r.push_back("[a-z]{5,20}" + std::to_string(i));
                 return RegexRule(r);
               }});
  v.push_back({"regexes1001", "1001 regexes [a-z]{5,20}N (one past limits.max_regexes)", [] {
                 std::vector<std::string> r;
                 for (int i = 0; i < 1001; ++i) r.push_back("[a-z]{5,20}" + std::to_string(i));
                 return RegexRule(r);
               }});
  // Alternations of random six-letter words: compile time grows faster than the regex (the
  // slowest shape found for limits.max_regex_bytes and max_total_regex_bytes).
  auto words = [](size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string r = "(?:";
    for (size_t i = 0; i < n; ++i) {
      if (i) r += "|";
      for (int c = 0; c < 6; ++c) r += static_cast<char>('a' + rng() % 26);
    }
    return r + ")";
  };
  v.push_back({"words1k_x1", "one 145-word alternation (1,019 bytes, within max_regex_bytes)",
               [words] { return RegexRule({words(145, 1) + "z0"}); }});
  v.push_back({"words1k_x32", "32 such regexes (32 KiB, at max_total_regex_bytes)", [words] {
                 std::vector<std::string> r;
                 for (int i = 0; i < 32; ++i) r.push_back(words(145, 100 + i) + "z" + std::to_string(i));
                 return RegexRule(r);
               }});
  v.push_back({"words4k_x1", "one 580-word alternation (4 KiB, past max_regex_bytes)",
               [words] { return RegexRule({words(580, 7) + "z0"}); }});
  v.push_back({"words4k_x50_lifted", "50 such regexes with limits.max_regex_bytes and "
                                     "max_total_regex_bytes lifted (what the bounds prevent)",
               [words] {
                 std::vector<std::string> r;
                 for (int i = 0; i < 50; ++i) r.push_back(words(580, 200 + i) + "z" + std::to_string(i));
                 return RegexRule(r);
               },
               /*lift_limits=*/true});
  for (int n : {10, 100, 1000})
    v.push_back({"ab_star_c" + std::to_string(n), "(a|b)*c{" + std::to_string(n) + "}",
                 [n] { return RegexRule({"(a|b)*c{" + std::to_string(n) + "}"}); }});
  for (int n : {100, 1000, 10000, 65535})
    v.push_back({"digits_upto" + std::to_string(n), "[0-9]{1," + std::to_string(n) + "}x",
                 [n] { return RegexRule({"[0-9]{1," + std::to_string(n) + "}x"}); }});
  for (int n : {1000, 10000, 100000})
    v.push_back({"a_exact" + std::to_string(n), "a{" + std::to_string(n) + "}",
                 [n] { return RegexRule({"a{" + std::to_string(n) + "}"}); }});
  for (int n : {10, 20, 40})
    v.push_back({"dot_a_dot" + std::to_string(n), ".*a.{" + std::to_string(n) + "}b (DFA blow-up shape)",
                 [n] { return RegexRule({".*a.{" + std::to_string(n) + "}b"}); }});
  for (int n : {100, 1000})
    v.push_back({"cjk_class" + std::to_string(n), "[一-龥]{1," + std::to_string(n) + "}号 (multi-byte class)",
                 [n] { return RegexRule({"[一-龥]{1," + std::to_string(n) + "}号"}); }});
  v.push_back({"nested_star", "((a*)*b*)*c", [] { return RegexRule({"((a*)*b*)*c"}); }});
  v.push_back({"nested_counts", "((a{2,5}){2,5}){2,5}b", [] { return RegexRule({"((a{2,5}){2,5}){2,5}b"}); }});
  v.push_back({"deep_groups", "200 nested groups around 'a'", [] {
                 return RegexRule({std::string(200, '(') + "a" + std::string(200, ')')});
               }});
  v.push_back({"long_literal_regex", "a 10,000-character literal regex", [] {
                 std::string r;
                 for (int i = 0; i < 10000; ++i) r += static_cast<char>('a' + i % 26);
                 return RegexRule({r});
               }});
  v.push_back({"backref", "(a)\\1 (unsupported construct)", [] { return RegexRule({"(a)\\1"}); }});
  return v;
}

double NowS() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Runs `fn` in a child with limits; prints "outcome|seconds|peak MB".
void InChild(const std::string& label, int timeout_s, size_t memory_mb,
             const std::function<std::string()>& fn) {
  int pipefd[2];
  if (pipe(pipefd) != 0) std::exit(1);
  double t0 = NowS();
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    rlimit cpu{static_cast<rlim_t>(timeout_s), static_cast<rlim_t>(timeout_s + 1)};
    setrlimit(RLIMIT_CPU, &cpu);
    rlimit as{memory_mb << 20, memory_mb << 20};
    setrlimit(RLIMIT_AS, &as);
    alarm(static_cast<unsigned>(timeout_s * 4));  // wall-clock backstop on a busy machine
    std::string out = fn();
    if (write(pipefd[1], out.data(), out.size()) < 0) _exit(1);
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double wall = NowS() - t0;
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  std::string outcome = out;
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    outcome = sig == SIGXCPU || sig == SIGALRM || sig == SIGKILL
                  ? "KILLED: over the " + std::to_string(timeout_s) + " s limit"
                  : "KILLED by signal " + std::to_string(sig) + " (memory limit " +
                        std::to_string(memory_mb) + " MB?)";
  }
  std::printf("| %s | %.2f | %.2f | %ld | %s |\n", label.c_str(), cpu, wall, ru.ru_maxrss / 1024,
              outcome.c_str());
  std::fflush(stdout);
}

std::string OneLine(std::string s, size_t limit = 160) {
  for (char& c : s)
    if (c == '\n' || c == '|') c = ' ';
  if (s.size() > limit) s = s.substr(0, limit / 3) + " … " + s.substr(s.size() - 2 * limit / 3);
  return s;
}

int Compile(int argc, char** argv) {
  const int timeout_s = std::stoi(Flag(argc, argv, "timeout", "60"));
  const size_t memory_mb = std::stoul(Flag(argc, argv, "memory-mb", "4096"));
  std::vector<std::string> only = Split(Flag(argc, argv, "cases", ""));
  std::printf("| case | cpu s | wall s | peak MB | outcome |\n|---|---|---|---|---|\n");
  for (const CompileCase& c : CompileCases()) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    InChild(c.name + ": " + c.what, timeout_s, memory_mb, [&] {
      std::string dict = c.dictionary();
      FilterOptions o;
      if (c.lift_limits) o.limits = {0, 0, 0, 0};
      auto f = Filter::FromDictionaries({DictionarySource::Text("case.rules", dict)}, o);
      if (!f.ok()) return "error: " + OneLine(std::string(f.status().message()));
      auto s = Scanner::Create(*f);
      std::string probe = Repeat("最佳加微信13812345678abcab", 1000);
      double t = NowS();
      auto r = s->Scan(probe);
      double scan_us = (NowS() - t) * 1e6;
      return "ok: " + std::to_string((*f)->info().database_bytes >> 10) + " KiB databases; " +
             "scan of 25 KB: " + std::to_string(static_cast<long>(scan_us)) + " us";
    });
  }
  return 0;
}

int Messages(int argc, char** argv) {
  const int timeout_s = std::stoi(Flag(argc, argv, "timeout", "120"));
  const size_t memory_mb = std::stoul(Flag(argc, argv, "memory-mb", "8192"));
  std::printf("| case | cpu s | wall s | peak MB | outcome |\n|---|---|---|---|---|\n");
  struct M {
    const char* name;
    std::function<std::string()> make;
    Op op;
  };
  const size_t mib10 = 10u << 20;
  std::vector<M> ms = {
      {"10 MiB ordinary text, scan", [&] { return Repeat("您好，订单已经发出，请耐心等待。", mib10 / 48); }, Op::kScan},
      {"10 MiB ordinary text + one hit, scan", [&] { return Repeat("您好，订单已经发出，请耐心等待。", mib10 / 48) + "加微信"; }, Op::kScan},
      {"10 MiB of 最佳， (1.2M findings), scan", [&] { return Repeat("最佳，", mib10 / 9); }, Op::kScan},
      {"10 MiB ordinary text + one hit, stream (4 KiB chunks)", [&] { return Repeat("您好，订单已经发出，请耐心等待。", mib10 / 48) + "加微信"; }, Op::kStream64},
      {"10 MiB of ℡ (expands 3 -> 3 bytes), scan", [&] { return Repeat("℡", mib10 / 3); }, Op::kScan},
      {"10 MiB of U+FDFA (expands 3 -> 33 bytes), scan", [&] { return Repeat("\xef\xb7\xba", mib10 / 3); }, Op::kScan},
      {"10 MiB of U+FDFA + one hit, scan", [&] { return Repeat("\xef\xb7\xba", mib10 / 3) + "加微信"; }, Op::kScan},
      {"100 MiB of U+FDFA + one hit, scan", [&] { return Repeat("\xef\xb7\xba", 100 * (1u << 20) / 3) + "加微信"; }, Op::kScan},
      {"100,000 banned terms 最佳 back to back (600 KB), scan", [] { return Repeat("最佳", 100000); }, Op::kScan},
      {"100,000 banned terms 最佳，(900 KB), scan", [] { return Repeat("最佳，", 100000); }, Op::kScan},
      {"100,000 banned terms, rewrite", [] { return Repeat("最佳，", 100000); }, Op::kRewrite},
      {"100,000 banned terms, explain", [] { return Repeat("最佳，", 100000); }, Op::kExplain},
      {"100,000 overlapping 加微信, explain", [] { return Repeat("加微信", 100000); }, Op::kExplain},
  };
  const std::string only = Flag(argc, argv, "only", "");
  for (const M& m : ms) {
    if (!only.empty() && std::string(m.name).find(only) == std::string::npos) continue;
    InChild(m.name, timeout_s, memory_mb, [&] {
      auto filter = Default();
      auto s = Scanner::Create(filter);
      std::string text = m.make();
      double t = NowS();
      long n = RunOp(m.op, filter, *s, text);
      double secs = NowS() - t;
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: %ld findings, %.2f s for the operation", OpName(m.op), n, secs);
      return std::string(buf);
    });
  }
  return 0;
}

}  // namespace
}  // namespace scriptqa::limits

int main(int argc, char** argv) {
  using namespace scriptqa::limits;
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "linearity") return Linearity(argc, argv);
  if (cmd == "run") return RunOnce(argc, argv);
  if (cmd == "holdback") return Holdback(argc, argv);
  if (cmd == "compile") return Compile(argc, argv);
  if (cmd == "messages") return Messages(argc, argv);
  std::fprintf(stderr, "usage: limits_tool linearity|run|compile|messages ... (see the source)\n");
  return 2;
}
