// Streaming vs block mode, per byte (issue 6 bar: streaming <= 2x block with chunks of 1–8
// characters). Each iteration checks one whole message: block = one Scanner::Scan; stream = Reset,
// one Write per chunk, Finish — what a chat server does for one LLM reply.
//
//   build-srv/bench/scriptqa_stream_bench --benchmark_repetitions=3 \
//       --benchmark_report_aggregates_only=true
//
// The last line printed is the ratio stream/block per byte for each setting (computed in-process
// from separate timed loops, so it is stable across machines of different speed).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include "bench_util.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

namespace scriptqa::bench {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "scriptqa_stream_bench: %s\n", std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

const MessageSet& Messages() {
  static const MessageSet* set = new MessageSet(OrDie(LoadAgentMessages()));
  return *set;
}

std::shared_ptr<const Filter> DefaultFilter() {
  static auto* f = new std::shared_ptr<const Filter>(OrDie(Filter::Default()));
  return *f;
}

// Each message cut into chunks of lo..hi characters (never inside a character: that is what an
// LLM token stream looks like; the tests cover splits inside characters).
std::vector<std::vector<std::string>> Chunked(size_t lo, size_t hi) {
  std::mt19937 rng(42);
  std::vector<std::vector<std::string>> out;
  for (const std::string& m : Messages().messages) {
    std::vector<std::string> chunks;
    size_t pos = 0;
    while (pos < m.size()) {
      size_t want = lo + rng() % (hi - lo + 1), end = pos;
      for (size_t c = 0; c < want && end < m.size(); ++c) {
        ++end;
        while (end < m.size() && (static_cast<unsigned char>(m[end]) & 0xC0) == 0x80) ++end;
      }
      chunks.push_back(m.substr(pos, end - pos));
      pos = end;
    }
    out.push_back(std::move(chunks));
  }
  return out;
}

void BM_Block(benchmark::State& state) {
  Scanner scanner = OrDie(Scanner::Create(DefaultFilter()));
  const auto& msgs = Messages().messages;
  size_t i = 0, bytes = 0, findings = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i++ % msgs.size()];
    auto st = scanner.Scan(m, {}, [&](const Finding&) {
      ++findings;
      return ScanControl::kContinue;
    });
    benchmark::DoNotOptimize(st);
    bytes += m.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Block);

// Arg 0: min_scan_bytes; args 1, 2: chunk size range in characters.
void BM_Stream(benchmark::State& state) {
  StreamOptions so;
  so.min_scan_bytes = static_cast<size_t>(state.range(0));
  StreamScanner stream = OrDie(StreamScanner::Create(DefaultFilter(), so));
  const auto chunked = Chunked(static_cast<size_t>(state.range(1)), static_cast<size_t>(state.range(2)));
  size_t i = 0, bytes = 0, findings = 0, writes = 0;
  for (auto _ : state) {
    const auto& chunks = chunked[i++ % chunked.size()];
    stream.Reset();
    for (const std::string& c : chunks) {
      auto u = stream.Write(c);
      findings += u->new_findings.size();
      bytes += c.size();
    }
    auto u = stream.Finish();
    findings += u->new_findings.size();
    writes += chunks.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["writes_per_msg"] =
      benchmark::Counter(static_cast<double>(writes), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_Stream)
    ->ArgNames({"min_scan", "lo", "hi"})
    ->Args({24, 1, 8})
    ->Args({0, 1, 8})
    ->Args({8, 1, 8})
    ->Args({48, 1, 8})
    ->Args({24, 1, 1})
    ->Args({24, 8, 8});

// The cost of per-shop configuration (docs/server.md): the same messages scanned without a
// profile (arg 0), with a profile that only disables / re-grades / allow-lists (arg 1), and with
// one that also has 20 shop deny terms (arg 2: one more engine call per message).
std::shared_ptr<const Profile> ShopProfile(int kind) {
  ProfileOptions po;
  po.disabled = {"script_quality"};
  po.severity_overrides = {{"review", Severity::kBlock}, {"ad_law.best", Severity::kAdvice}};
  po.allow_terms = {"最好的服务", "第一时间", "微信支付", "最佳赏味期", "顶级配置版"};
  if (kind == 2)
    for (const char* t : {"拼多多", "某宝", "闲鱼", "抖音小店", "快手", "代购", "专柜验货", "私下交易",
                          "支付宝转账", "银行卡转账", "加我好友", "线下门店", "工厂直供", "内部价",
                          "员工价", "清仓甩卖", "假一赔十", "包过", "秒杀价", "返利"})
      po.deny_terms.push_back(t);
  return OrDie(Profile::Create(DefaultFilter(), po));
}

void BM_BlockWithProfile(benchmark::State& state) {
  Scanner scanner = OrDie(Scanner::Create(DefaultFilter()));
  std::shared_ptr<const Profile> profile;
  ScanOptions so;
  if (state.range(0) > 0) {
    profile = ShopProfile(static_cast<int>(state.range(0)));
    so.profile = profile.get();
  }
  const auto& msgs = Messages().messages;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i++ % msgs.size()];
    auto st = scanner.Scan(m, so, [](const Finding&) { return ScanControl::kContinue; });
    benchmark::DoNotOptimize(st);
    bytes += m.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_BlockWithProfile)->ArgName("profile")->Arg(0)->Arg(1)->Arg(2);

void BM_ProfileCreate(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ShopProfile(2));
}
BENCHMARK(BM_ProfileCreate)->Unit(benchmark::kMicrosecond);

double ThreadCpuNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// The bar itself, measured robustly on a shared machine: block and stream take turns on the same
// 64 messages, each turn timed in thread CPU time, so both see the same load. Counter "ratio" is
// stream CPU time / block CPU time over the same bytes. Args as BM_Stream.
void BM_StreamOverBlock(benchmark::State& state) {
  StreamOptions so;
  so.min_scan_bytes = static_cast<size_t>(state.range(0));
  Scanner scanner = OrDie(Scanner::Create(DefaultFilter()));
  StreamScanner stream = OrDie(StreamScanner::Create(DefaultFilter(), so));
  const auto& msgs = Messages().messages;
  const auto chunked = Chunked(static_cast<size_t>(state.range(1)), static_cast<size_t>(state.range(2)));
  double block_ns = 0, stream_ns = 0;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const size_t first = i;
    double t0 = ThreadCpuNs();
    for (size_t k = 0; k < 64; ++k) {
      const std::string& m = msgs[(first + k) % msgs.size()];
      auto st = scanner.Scan(m, {}, [](const Finding&) { return ScanControl::kContinue; });
      benchmark::DoNotOptimize(st);
      bytes += m.size();
    }
    double t1 = ThreadCpuNs();
    for (size_t k = 0; k < 64; ++k) {
      stream.Reset();
      for (const std::string& c : chunked[(first + k) % chunked.size()]) {
        auto u = stream.Write(c);
        benchmark::DoNotOptimize(u);
      }
      auto u = stream.Finish();
      benchmark::DoNotOptimize(u);
    }
    double t2 = ThreadCpuNs();
    block_ns += t1 - t0;
    stream_ns += t2 - t1;
    i += 64;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["ratio"] = stream_ns / block_ns;
  state.counters["block_ns_per_msg"] = block_ns / static_cast<double>(i);
  state.counters["stream_ns_per_msg"] = stream_ns / static_cast<double>(i);
}
BENCHMARK(BM_StreamOverBlock)
    ->ArgNames({"min_scan", "lo", "hi"})
    ->Args({24, 1, 8})
    ->Args({0, 1, 8})
    ->Args({48, 1, 8})
    ->Args({32, 1, 8})
    ->Args({64, 1, 8});

}  // namespace
}  // namespace scriptqa::bench

BENCHMARK_MAIN();
