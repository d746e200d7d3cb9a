// Google Benchmark suite of scriptqa (issue 2): scan latency by message length and threads,
// normalisation alone vs the full pipeline, compile time and load time.
//
//   build-bench/bench/scriptqa_bench --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
//
// Messages are the real agent messages when ../shared/corpus is present, else the bundled
// synthetic ones (bench_util.h). Per-message latency percentiles (p50/p99) are computed by
// scriptqa_compare, which times every message on its own; this suite reports means per iteration.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "bench_util.h"
#include "scriptqa/scanner.h"

namespace scriptqa::bench {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "scriptqa_bench: %s\n", std::string(v.status().message()).c_str());
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
std::shared_ptr<const Filter> TrivialFull() {
  static auto* f = new std::shared_ptr<const Filter>(OrDie(TrivialFilter()));
  return *f;
}
std::shared_ptr<const Filter> TrivialMatchOnly() {
  static auto* f = new std::shared_ptr<const Filter>(OrDie(TrivialFilter(MatchOnlyNormalization())));
  return *f;
}
std::shared_ptr<const Filter> Terms(size_t n) {
  static auto* cache = new std::map<size_t, std::shared_ptr<const Filter>>();
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& f = (*cache)[n];
  if (!f) f = OrDie(TermFilter(GenerateTerms(n)));
  return f;
}

// Scans `msgs` round-robin, one message per iteration, through the callback API.
void ScanLoop(benchmark::State& state, const std::shared_ptr<const Filter>& filter,
              const std::vector<std::string>& msgs) {
  Scanner scanner = OrDie(Scanner::Create(filter));
  ScanOptions options;
  size_t i = 0, bytes = 0, findings = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i];
    if (++i == msgs.size()) i = 0;
    absl::Status st = scanner.Scan(m, options, [&](const Finding&) {
      ++findings;
      return ScanControl::kContinue;
    });
    benchmark::DoNotOptimize(st);
    bytes += m.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
  state.counters["findings/msg"] = benchmark::Counter(
      static_cast<double>(findings) / static_cast<double>(std::max<int64_t>(1, state.iterations())));
}

// ---- scan latency by message length and threads (default packs) ----
void BM_ScanLength(benchmark::State& state) {
  static std::map<size_t, std::vector<std::string>>* sets = new std::map<size_t, std::vector<std::string>>();
  static std::mutex mu;
  const size_t len = static_cast<size_t>(state.range(0));
  const std::vector<std::string>* msgs;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& v = (*sets)[len];
    if (v.empty()) v = MessagesOfLength(Messages().messages, len, std::clamp<size_t>((256u << 10) / len, 64, 2000));
    msgs = &v;
  }
  ScanLoop(state, DefaultFilter(), *msgs);
}
BENCHMARK(BM_ScanLength)->RangeMultiplier(4)->Range(16, 4096)->Threads(1)->Threads(2)->UseRealTime();

// ---- real agent messages, one per iteration ----
void BM_ScanAgentMessages_Default(benchmark::State& state) {
  ScanLoop(state, DefaultFilter(), Messages().messages);
}
BENCHMARK(BM_ScanAgentMessages_Default)->Threads(1)->Threads(2)->UseRealTime();

void BM_ScanAgentMessages_Terms(benchmark::State& state) {
  ScanLoop(state, Terms(static_cast<size_t>(state.range(0))), Messages().messages);
}
BENCHMARK(BM_ScanAgentMessages_Terms)->Arg(1000)->Arg(5000);

// ---- normalisation alone: a filter whose one rule never matches, i.e. normalise + one engine
// call + the call overhead; compare with BM_ScanAgentMessages_Default.
void BM_ScanAgentMessages_TrivialRuleSet(benchmark::State& state) {
  ScanLoop(state, TrivialFull(), Messages().messages);
}
BENCHMARK(BM_ScanAgentMessages_TrivialRuleSet);

// The same with nothing folded or skipped: the floor of the pipeline.
void BM_ScanAgentMessages_TrivialRuleSetNoFolding(benchmark::State& state) {
  ScanLoop(state, TrivialMatchOnly(), Messages().messages);
}
BENCHMARK(BM_ScanAgentMessages_TrivialRuleSetNoFolding);

// Filter::Normalize (allocates its result string each call).
void BM_FilterNormalize(benchmark::State& state) {
  auto filter = DefaultFilter();
  const auto& msgs = Messages().messages;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i];
    if (++i == msgs.size()) i = 0;
    std::string n = filter->Normalize(m);
    benchmark::DoNotOptimize(n);
    bytes += m.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_FilterNormalize);

// The convenience form Scan(text) -> std::vector<Finding> (allocates when there are findings).
void BM_ScanVector_Default(benchmark::State& state) {
  Scanner scanner = OrDie(Scanner::Create(DefaultFilter()));
  const auto& msgs = Messages().messages;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i];
    if (++i == msgs.size()) i = 0;
    auto r = scanner.Scan(m);
    benchmark::DoNotOptimize(r);
    bytes += m.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ScanVector_Default);

// ---- compile and load ----
void BM_CompileDefault(benchmark::State& state) {
  for (auto _ : state) {
    auto f = Filter::Default();
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_CompileDefault)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_CompileTerms(benchmark::State& state) {
  std::vector<std::string> terms = GenerateTerms(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto f = TermFilter(terms);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_CompileTerms)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_DeserializeDefault(benchmark::State& state) {
  std::string blob = OrDie(DefaultFilter()->Serialize());
  for (auto _ : state) {
    auto f = Filter::Deserialize(blob);
    if (!f.ok()) state.SkipWithError("Deserialize failed");
    benchmark::DoNotOptimize(f);
  }
  state.counters["bytes"] = static_cast<double>(blob.size());
}
BENCHMARK(BM_DeserializeDefault)->Unit(benchmark::kMillisecond);

void BM_DeserializeTerms(benchmark::State& state) {
  std::string blob = OrDie(Terms(static_cast<size_t>(state.range(0)))->Serialize());
  for (auto _ : state) {
    auto f = Filter::Deserialize(blob);
    if (!f.ok()) state.SkipWithError("Deserialize failed");
    benchmark::DoNotOptimize(f);
  }
  state.counters["bytes"] = static_cast<double>(blob.size());
}
BENCHMARK(BM_DeserializeTerms)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_CreateScanner(benchmark::State& state) {
  auto filter = DefaultFilter();
  for (auto _ : state) {
    auto s = Scanner::Create(filter);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CreateScanner)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace scriptqa::bench

BENCHMARK_MAIN();
