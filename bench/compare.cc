// scriptqa against the matchers users would otherwise pick, on the same terms and messages.
// Prints a Markdown report (docs/benchmarks.md explains the method; bench/run.sh runs this).
//
//   scriptqa_compare [--rules=100,1000,5000,default] [--lengths=16,64,256,1024,4096]
//                    [--threads=1,2] [--cell-seconds=0.25] [--synthetic] [--quick]
//   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=DIR/cg.out \
//       scriptqa_compare --instructions=DIR/cg.out [--rules=...]
//
// The second form counts instructions per message instead of timing (only the scan loops are
// instrumented): a view of the same comparison that no other job on the machine can disturb.
//
// Per-message latency: every scan is timed on its own with std::chrono::steady_clock (the cost of
// reading the clock, measured first, is subtracted); each message is scanned in several rounds and
// its median kept; p50/p99 are over the messages.
// Throughput: batches of whole passes over the messages without per-message timers, timed in CPU
// time of each scanning thread (time spent descheduled by other jobs on this shared machine is not
// counted); the median batch is reported. With 2 threads, the messages are split between two
// workers that run at once, and their rates are added.
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench_util.h"
#include "flags.h"  // examples/gateway: numeric flags with range checks
#include "peers.h"
#include "scriptqa/scanner.h"

namespace scriptqa::bench {
namespace {

struct Config {
  std::vector<std::string> rule_sets = {"100", "1000", "5000", "default"};
  std::vector<size_t> lengths = {16, 64, 256, 1024, 4096};
  std::vector<int> threads = {1, 2};
  double cell_seconds = 0.25;
  bool synthetic = false;
};

double g_timer_overhead_ns = 0;

void MeasureTimerOverhead() {
  std::vector<double> d;
  for (int i = 0; i < 20000; ++i) {
    double a = NowNs();
    double b = NowNs();
    d.push_back(b - a);
  }
  g_timer_overhead_ns = Median(d);
}

template <typename F>
void RunThreads(int n, F&& body) {
  if (n == 1) {
    body(0);
    return;
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < n; ++t) ts.emplace_back([&, t] { body(t); });
  for (auto& t : ts) t.join();
}

// Every k-th message, so that one pass takes about `target_ns` given `per_msg_ns`.
std::vector<const std::string*> Subsample(const std::vector<std::string>& msgs, double per_msg_ns,
                                          double target_ns, size_t* step_out) {
  size_t step = 1;
  double pass = per_msg_ns * static_cast<double>(msgs.size());
  if (pass > target_ns && target_ns > 0) step = static_cast<size_t>(pass / target_ns) + 1;
  std::vector<const std::string*> out;
  for (size_t i = 0; i < msgs.size(); i += step) out.push_back(&msgs[i]);
  if (out.size() < 4)
    for (size_t i = 0; i < std::min<size_t>(4, msgs.size()); ++i) out.push_back(&msgs[i]);
  *step_out = step;
  return out;
}

struct Result {
  double p50_us = 0, p99_us = 0;  // per message
  double mbps = 0;                // batch throughput (all threads)
  size_t step = 1;                // subsampling step (1 = every message)
  size_t hit_messages = 0;        // messages with at least one span (single pass)
  size_t spans = 0;
};

// Probes the per-message cost on a few messages; counts hits over all messages when cheap enough.
double Probe(Worker* w, const std::vector<std::string>& msgs, double budget_ns, Result* r) {
  double t0 = NowNs();
  size_t n = 0;
  r->hit_messages = 0;
  r->spans = 0;
  for (const std::string& m : msgs) {
    size_t k = w->Scan(m);
    r->hit_messages += k > 0;
    r->spans += k;
    ++n;
    if (NowNs() - t0 > budget_ns) break;
  }
  double per = (NowNs() - t0) / static_cast<double>(n);
  if (n < msgs.size()) r->hit_messages = r->spans = SIZE_MAX;  // unknown
  return per;
}

Result Measure(const Engine& engine, const std::vector<std::string>& msgs, int threads,
               double cell_seconds, bool latency, bool throughput) {
  Result r;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) workers.push_back(engine.NewWorker());
  const double budget = cell_seconds * 1e9;
  double per_msg = Probe(workers[0].get(), msgs, budget, &r);
  for (int t = 1; t < threads; ++t) {
    Result ignore;
    Probe(workers[t].get(), msgs, budget / 4, &ignore);
  }
  // Aim for at least 5 passes of the sample per measurement.
  std::vector<const std::string*> sample = Subsample(msgs, per_msg, budget / 5, &r.step);
  std::vector<std::vector<const std::string*>> share(threads);
  for (size_t i = 0; i < sample.size(); ++i) share[i % threads].push_back(sample[i]);
  std::vector<std::vector<std::string_view>> share_views(threads);
  for (int t = 0; t < threads; ++t)
    for (const std::string* m : share[t]) share_views[t].push_back(*m);
  const double pass_ns = per_msg * static_cast<double>(sample.size()) / threads;

  if (latency) {
    int rounds = std::max(1, static_cast<int>(budget / std::max(pass_ns, 1.0)));
    rounds = std::min(rounds, 201) | 1;  // odd: a true per-message median
    std::vector<std::vector<double>> times(threads);
    RunThreads(threads, [&](int t) {
      Worker* w = workers[t].get();
      auto& out = times[t];
      out.reserve(share[t].size() * rounds);
      for (int k = 0; k < rounds; ++k)
        for (const std::string* m : share[t]) {
          double a = NowNs();
          w->Scan(*m);
          double b = NowNs();
          out.push_back(std::max(0.0, b - a - g_timer_overhead_ns));
        }
    });
    // Per message: the median of its timings over the rounds (a scan disturbed by another job
    // on the machine is then outvoted); then p50/p99 over the messages.
    std::vector<double> per_message;
    std::vector<double> one(rounds);
    for (int t = 0; t < threads; ++t) {
      const size_t n = share[t].size();
      for (size_t j = 0; j < n; ++j) {
        for (int k = 0; k < rounds; ++k) one[k] = times[t][k * n + j];
        per_message.push_back(Median(one));
      }
    }
    r.p50_us = Percentile(per_message, 50) / 1e3;
    r.p99_us = Percentile(per_message, 99) / 1e3;
  }
  if (throughput) {
    const int batches = 5;
    int rounds = std::max(1, static_cast<int>(budget / batches / std::max(pass_ns, 1.0)));
    std::vector<size_t> share_bytes(threads, 0);
    for (int t = 0; t < threads; ++t)
      for (const std::string* m : share[t]) share_bytes[t] += m->size();
    std::vector<double> mbps;
    for (int b = 0; b < batches; ++b) {
      std::vector<double> cpu(threads, 0);
      RunThreads(threads, [&](int t) {
        Worker* w = workers[t].get();
        double t0 = ThreadCpuNs();
        for (int k = 0; k < rounds; ++k) w->ScanMany(share_views[t]);
        cpu[t] = ThreadCpuNs() - t0;
      });
      // Sum of the threads' rates, each in bytes per CPU-second of that thread.
      double total = 0;
      for (int t = 0; t < threads; ++t)
        total += static_cast<double>(share_bytes[t]) * rounds / (cpu[t] / 1e9) / 1e6;
      mbps.push_back(total);
    }
    r.mbps = Median(mbps);
  }
  return r;
}

std::string Fmt(double v) {
  if (v == 0) return "–";
  if (v >= 1000) return absl::StrFormat("%.0f", v);
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  if (v >= 1) return absl::StrFormat("%.2f", v);
  return absl::StrFormat("%.3f", v);
}
std::string Ratio(double v) {
  if (v == 0 || !std::isfinite(v)) return "–";
  return absl::StrFormat(v >= 10 ? "%.0f×" : "%.1f×", v);
}

struct RuleSet {
  std::string label;
  std::vector<std::string> terms;    // what the peers match
  std::vector<std::string> regexes;  // peers that take regexes get these too
  std::shared_ptr<const Filter> full, match_only;
  double full_ms = 0, match_only_ms = 0;
};

RuleSet MakeRuleSet(const std::string& spec) {
  RuleSet rs;
  double t0 = NowNs();
  if (spec == "default") {
    auto f = Filter::Default();
    if (!f.ok()) {
      std::fprintf(stderr, "compare: %s\n", std::string(f.status().message()).c_str());
      std::exit(1);
    }
    rs.full_ms = (NowNs() - t0) / 1e6;
    rs.full = *f;
    rs.terms = LiteralsOf(*rs.full);
    rs.regexes = RegexesOf(*rs.full);
    t0 = NowNs();
    FilterOptions o;
    o.normalization = MatchOnlyNormalization();
    auto m = Filter::Default(o);
    if (!m.ok()) {
      std::fprintf(stderr, "compare: %s\n", std::string(m.status().message()).c_str());
      std::exit(1);
    }
    rs.match_only_ms = (NowNs() - t0) / 1e6;
    rs.match_only = *m;
    rs.label = absl::StrCat("default packs (", rs.full->info().rule_count, " rules, ",
                            rs.terms.size(), " literals, ", rs.regexes.size(), " regexes)");
    return rs;
  }
  size_t n = 0;
  if (!absl::SimpleAtoi(spec, &n) || n == 0) {
    std::fprintf(stderr, "compare: bad rule set '%s'\n", spec.c_str());
    std::exit(2);
  }
  rs.terms = GenerateTerms(n);
  t0 = NowNs();
  auto f = TermFilter(rs.terms);
  if (!f.ok()) {
    std::fprintf(stderr, "compare: %s\n", std::string(f.status().message()).c_str());
    std::exit(1);
  }
  rs.full_ms = (NowNs() - t0) / 1e6;
  rs.full = *f;
  t0 = NowNs();
  auto m = TermFilter(rs.terms, MatchOnlyNormalization());
  if (!m.ok()) std::exit(1);
  rs.match_only_ms = (NowNs() - t0) / 1e6;
  rs.match_only = *m;
  rs.label = absl::StrCat(n, " generated terms");
  return rs;
}

struct BarRow {
  std::string bar, measured;
  bool pass;
};
std::vector<BarRow> g_bars;

void Bar(std::string bar, std::string measured, bool pass) {
  g_bars.push_back({std::move(bar), std::move(measured), pass});
}

size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void RunRuleSet(const Config& cfg, const std::string& spec, const MessageSet& msgs) {
  RuleSet rs = MakeRuleSet(spec);
  std::printf("\n## Rule set: %s\n\n", rs.label.c_str());

  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(MakeScriptqaEngine("scriptqa full", rs.full, rs.full_ms));
  // Index 1: the same pipeline through ScanBatch (throughput only: per message it is row 0).
  engines.push_back(MakeScriptqaEngine("scriptqa batch (ScanBatch)", rs.full, rs.full_ms, true));
  engines.push_back(MakeScriptqaEngine("scriptqa match-only", rs.match_only, rs.match_only_ms));
  engines.push_back(MakeHyperscanRawEngine(rs.terms));
  // The engine floor of a batch: raw terms, raw messages, one hs_scan per ~64 KiB.
  engines.push_back(MakeHyperscanRawEngine(rs.terms, /*batch=*/true));
  engines.push_back(MakeNaiveEngine(rs.terms));
  if (auto e = MakeRe2SetEngine(rs.terms, rs.regexes)) engines.push_back(std::move(e));
  if (auto e = MakeIcuEngine(rs.terms, rs.regexes)) engines.push_back(std::move(e));
  std::fflush(stdout);
  // Batch engines have no per-message time (throughput only).
  auto latency_of = [&](size_t i) { return engines[i]->name().find("batch") == std::string::npos; };

  const bool two = std::find(cfg.threads.begin(), cfg.threads.end(), 2) != cfg.threads.end();
  // Real messages.
  std::vector<Result> res1, res2;
  for (size_t i = 0; i < engines.size(); ++i) {
    const auto& e = engines[i];
    res1.push_back(Measure(*e, msgs.messages, 1, cfg.cell_seconds, latency_of(i), true));
    res2.push_back(two ? Measure(*e, msgs.messages, 2, cfg.cell_seconds, latency_of(i), true)
                       : Result{});
  }
  const Result& batch = res1[1];
  std::printf("Agent messages (%zu, %s), one message per scan.\n\n", msgs.messages.size(),
              msgs.source.rfind("corpus", 0) == 0 ? "real corpus" : "bundled synthetic");
  std::printf("| engine | build ms | messages with hits | p50 µs | p99 µs | p50 µs, 2 threads | "
              "MB/s, 1 thread | MB/s, 2 threads | p50 vs scriptqa full | MB/s: scriptqa full ÷ engine |\n");
  std::printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  const Result& base = res1[0];
  for (size_t i = 0; i < engines.size(); ++i) {
    const Result& a = res1[i];
    std::string hits = a.hit_messages == SIZE_MAX
                           ? "n/a"
                           : absl::StrFormat("%.1f %%", 100.0 * a.hit_messages / msgs.messages.size());
    std::string name = engines[i]->name();
    if (a.step > 1) name += absl::StrFormat(" (1 in %zu messages)", a.step);
    if (!engines[i]->note().empty()) name += " [" + engines[i]->note() + "]";
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name.c_str(),
                engines[i]->build_ms() > 0 ? Fmt(engines[i]->build_ms()).c_str() : "–",
                hits.c_str(), Fmt(a.p50_us).c_str(), Fmt(a.p99_us).c_str(),
                Fmt(res2[i].p50_us).c_str(), Fmt(a.mbps).c_str(), Fmt(res2[i].mbps).c_str(),
                i == 0 ? "1×" : Ratio(a.p50_us / base.p50_us).c_str(),
                i == 0 ? "1×" : Ratio(base.mbps / a.mbps).c_str());
  }
  std::printf("\nBatch throughput (MB/s: scriptqa through ScanBatch ÷ engine, one thread): ");
  for (size_t i = 2; i < engines.size(); ++i) {
    std::printf("%s%s %s", i == 2 ? "" : ", ", engines[i]->name().c_str(),
                Ratio(batch.mbps / res1[i].mbps).c_str());
  }
  std::printf(".\n");
  std::fflush(stdout);

  // Typical 30-character messages (25–35 characters), scriptqa full.
  {
    std::vector<std::string> typical;
    for (const std::string& m : msgs.messages) {
      size_t c = CountChars(m);
      if (c >= 25 && c <= 35) typical.push_back(m);
    }
    if (!typical.empty()) {
      Result t = Measure(*engines[0], typical, 1, cfg.cell_seconds * 2, true, false);
      std::printf("\nscriptqa full on the %zu messages of 25–35 characters: p50 %s µs, p99 %s µs.\n",
                  typical.size(), Fmt(t.p50_us).c_str(), Fmt(t.p99_us).c_str());
      if (spec == "default") {
        Bar("typical 30-char message (25–35 characters), p50 ≤ 0.3 µs",
            absl::StrCat(Fmt(t.p50_us), " µs"), t.p50_us <= 0.3);
        Bar("typical 30-char message (25–35 characters), p99 ≤ 1 µs",
            absl::StrCat(Fmt(t.p99_us), " µs"), t.p99_us <= 1.0);
      }
    }
  }

  // Peer bars.
  auto find = [&](const std::string& prefix) -> int {
    for (size_t i = 0; i < engines.size(); ++i)
      if (engines[i]->name().rfind(prefix, 0) == 0) return static_cast<int>(i);
    return -1;
  };
  int re2 = find("RE2"), naive = find("naive"), hs_raw = find("hyperscan raw"),
      hs_batch = find("hyperscan raw batch");
  if (spec == "1000" || spec == "5000") {
    if (re2 >= 0) {
      double lat = res1[re2].p50_us / base.p50_us, tp = batch.mbps / res1[re2].mbps;
      // What the engine alone reaches against RE2 (raw terms, raw text, no normalisation or
      // confirmation): scriptqa, which runs this engine plus the rest of the pipeline, cannot
      // exceed these ratios by more than the measurement noise.
      if (hs_raw >= 0 && hs_batch >= 0)
        std::printf("\nEngine floor vs RE2::Set at %s terms (raw Hyperscan, no normalisation, no "
                    "confirmation): per message p50 %s, batch throughput %s (%s MB/s vs %s MB/s).\n",
                    spec.c_str(), Ratio(res1[re2].p50_us / res1[hs_raw].p50_us).c_str(),
                    Ratio(res1[hs_batch].mbps / res1[re2].mbps).c_str(),
                    Fmt(res1[hs_batch].mbps).c_str(), Fmt(res1[re2].mbps).c_str());
      std::printf("scriptqa vs RE2::Set at %s terms: per message p50 %s faster, batch "
                  "throughput %s (scriptqa ScanBatch; RE2::Set one message at a time, its "
                  "fastest form).\n",
                  spec.c_str(), Ratio(lat).c_str(), Ratio(tp).c_str());
    }
    if (naive >= 0)
      std::printf("scriptqa vs the naive find loop at %s terms: per message p50 %s faster.\n",
                  spec.c_str(), Ratio(res1[naive].p50_us / base.p50_us).c_str());
  }

  // Length sweep.
  if (cfg.lengths.empty()) return;
  std::printf("\nMessage length sweep (messages made of consecutive agent messages, cut to "
              "length): p50 µs per message / MB/s, one thread");
  std::printf(two ? "; then MB/s with two threads.\n\n" : ".\n\n");
  std::printf("| engine |");
  for (size_t L : cfg.lengths) std::printf(" %zu B |", L);
  std::printf("\n|---|");
  for (size_t i = 0; i < cfg.lengths.size(); ++i) std::printf("--:|");
  std::printf("\n");
  std::vector<std::vector<Result>> sweep1(engines.size()), sweep2(engines.size());
  for (size_t i = 0; i < engines.size(); ++i) {
    std::printf("| %s |", engines[i]->name().c_str());
    for (size_t L : cfg.lengths) {
      size_t count = std::clamp<size_t>((512u << 10) / L, 64, 2000);
      std::vector<std::string> m = MessagesOfLength(msgs.messages, L, count);
      Result a = Measure(*engines[i], m, 1, cfg.cell_seconds, latency_of(i), true);
      sweep1[i].push_back(a);
      std::printf(" %s / %s |", Fmt(a.p50_us).c_str(), Fmt(a.mbps).c_str());
      std::fflush(stdout);
      if (two) sweep2[i].push_back(Measure(*engines[i], m, 2, cfg.cell_seconds, false, true));
    }
    std::printf("\n");
  }
  if (two) {
    std::printf("\n| engine, 2 threads, MB/s |");
    for (size_t L : cfg.lengths) std::printf(" %zu B |", L);
    std::printf("\n|---|");
    for (size_t i = 0; i < cfg.lengths.size(); ++i) std::printf("--:|");
    std::printf("\n");
    for (size_t i = 0; i < engines.size(); ++i) {
      std::printf("| %s |", engines[i]->name().c_str());
      for (const Result& a : sweep2[i]) std::printf(" %s |", Fmt(a.mbps).c_str());
      std::printf("\n");
    }
  }
  // Ratios measured in this run, per length: what users compare (scriptqa against RE2::Set and
  // against the raw engine, and the cost per byte).
  std::printf("\nRatios in this run, p50 per message: the engine's time ÷ scriptqa full's (above "
              "1×: scriptqa is faster), and ns per byte.\n\n| |");
  for (size_t L : cfg.lengths) std::printf(" %zu B |", L);
  std::printf("\n|---|");
  for (size_t i = 0; i < cfg.lengths.size(); ++i) std::printf("--:|");
  std::printf("\n");
  for (int e : {re2, hs_raw}) {
    if (e < 0) continue;
    std::printf("| vs %s |", engines[e]->name().c_str());
    for (size_t k = 0; k < cfg.lengths.size(); ++k)
      std::printf(" %s |", Ratio(sweep1[e][k].p50_us / sweep1[0][k].p50_us).c_str());
    std::printf("\n");
  }
  for (int e : {0, hs_raw}) {
    if (e < 0) continue;
    std::printf("| ns per byte, %s |", engines[e]->name().c_str());
    for (size_t k = 0; k < cfg.lengths.size(); ++k)
      std::printf(" %s |", Fmt(sweep1[e][k].p50_us * 1000 / cfg.lengths[k]).c_str());
    std::printf("\n");
  }
  auto index_of = [&](size_t L) -> int {
    auto it = std::find(cfg.lengths.begin(), cfg.lengths.end(), L);
    return it == cfg.lengths.end() ? -1 : static_cast<int>(it - cfg.lengths.begin());
  };
  if (spec == "default") {
    for (size_t L : {size_t{90}, size_t{900}, size_t{4096}}) {
      const int k = index_of(L);
      if (k < 0 || re2 < 0) continue;
      const double r = sweep1[re2][k].p50_us / sweep1[0][k].p50_us;
      Bar(absl::StrFormat("%zu B messages, p50 ≥ 1.5× faster than RE2::Set + spans", L),
          absl::StrFormat("%.2f×", r), r >= 1.5);
    }
    for (auto [L, most] : {std::pair<size_t, double>{90, 2.5}, {4096, 3.0}}) {
      const int k = index_of(L);
      if (k < 0 || hs_raw < 0) continue;
      const double r = sweep1[0][k].p50_us / sweep1[hs_raw][k].p50_us;
      Bar(absl::StrFormat("%zu B messages, p50 at most %.1f× raw Hyperscan's", L, most),
          absl::StrFormat("%.2f×", r), r <= most);
    }
    if (const int k90 = index_of(90), k4 = index_of(4096); k90 >= 0 && k4 >= 0) {
      const double b90 = sweep1[0][k90].p50_us * 1000 / 90,
                   b4 = sweep1[0][k4].p50_us * 1000 / 4096;
      Bar("p50 per byte at 4 KiB no more than at 90 B",
          absl::StrCat(Fmt(b4), " vs ", Fmt(b90), " ns/B"), b4 <= b90);
    }
  }
  // The engine floor on corpus text in 4 KiB pieces, where per-call costs no longer dominate.
  if (const int k4 = index_of(4096); k4 >= 0) {
    const size_t k = static_cast<size_t>(k4);
    double full = std::max(sweep1[0][k].mbps, sweep1[1][k].mbps);
    if ((spec == "1000" || spec == "5000") && re2 >= 0) {
      double tp = full / sweep1[re2][k].mbps;
      if (hs_raw >= 0 && hs_batch >= 0) {
        double floor_mbps = std::max(sweep1[hs_raw][k].mbps, sweep1[hs_batch][k].mbps);
        std::printf("\nEngine floor vs RE2::Set at %s terms, corpus text in 4 KiB pieces (raw "
                    "Hyperscan, the better of one call per piece and 64 KiB buffers): %s (%s MB/s "
                    "vs %s MB/s).\n",
                    spec.c_str(), Ratio(floor_mbps / sweep1[re2][k].mbps).c_str(),
                    Fmt(floor_mbps).c_str(), Fmt(sweep1[re2][k].mbps).c_str());
      }
      std::printf("scriptqa vs RE2::Set at %s terms, corpus text in 4 KiB pieces: throughput "
                  "%s.\n",
                  spec.c_str(), Ratio(tp).c_str());
    }
  }
  std::fflush(stdout);
}

void BuildAndLoad() {
  std::printf("\n## Build and load (default packs)\n\n");
  std::vector<double> compile, load;
  std::shared_ptr<const Filter> filter;
  for (int i = 0; i < 5; ++i) {
    double t0 = NowNs();
    auto f = Filter::Default();
    compile.push_back((NowNs() - t0) / 1e6);
    if (!f.ok()) {
      std::printf("Filter::Default() failed: %s\n", std::string(f.status().message()).c_str());
      return;
    }
    filter = *f;
  }
  auto blob = filter->Serialize();
  if (!blob.ok()) return;
  for (int i = 0; i < 30; ++i) {
    double t0 = NowNs();
    auto f = Filter::Deserialize(*blob);
    load.push_back((NowNs() - t0) / 1e6);
    if (!f.ok()) return;
  }
  std::vector<double> gen1000, gen5000;
  auto t1000 = GenerateTerms(1000), t5000 = GenerateTerms(5000);
  for (int i = 0; i < 3; ++i) {
    double t0 = NowNs();
    (void)TermFilter(t1000);
    gen1000.push_back((NowNs() - t0) / 1e6);
    t0 = NowNs();
    (void)TermFilter(t5000);
    gen5000.push_back((NowNs() - t0) / 1e6);
  }
  const FilterInfo& info = filter->info();
  std::printf("| what | median ms | min ms | max ms |\n|---|--:|--:|--:|\n");
  auto row = [](const char* what, const std::vector<double>& v) {
    std::printf("| %s | %s | %s | %s |\n", what, Fmt(Median(v)).c_str(),
                Fmt(*std::min_element(v.begin(), v.end())).c_str(),
                Fmt(*std::max_element(v.begin(), v.end())).c_str());
  };
  row("Filter::Default() (parse + compile the default packs)", compile);
  row("Filter::Deserialize(Serialize()) of the default packs", load);
  row("FromDictionaries, 1,000 generated terms", gen1000);
  row("FromDictionaries, 5,000 generated terms", gen5000);
  std::printf("\nDefault packs: %zu rules, %zu literals, %zu regexes, databases %zu bytes, "
              "serialized %zu bytes, engine %s.\n",
              info.rule_count, info.literal_count, info.regex_count, info.database_bytes,
              blob->size(), info.engine_version.c_str());
}


// ---- instruction counts (under callgrind) -------------------------------------------------------

void RunInstructions(const std::vector<std::string>& specs, const MessageSet& msgs,
                     const std::string& prefix) {
  InstructionCounter counter(prefix);
  // About 300 messages spread over the set.
  std::vector<const std::string*> sample;
  size_t step = std::max<size_t>(1, msgs.messages.size() / 300);
  for (size_t i = 0; i < msgs.messages.size(); i += step) sample.push_back(&msgs.messages[i]);
  std::vector<std::string> names;
  std::vector<std::string> labels;
  std::map<std::string, std::vector<double>> per;  // engine -> per rule set
  for (const std::string& spec : specs) {
    RuleSet rs = MakeRuleSet(spec);
    labels.push_back(rs.label);
    std::vector<std::unique_ptr<Engine>> engines;
    engines.push_back(MakeScriptqaEngine("scriptqa full", rs.full, rs.full_ms));
    engines.push_back(MakeScriptqaEngine("scriptqa batch (ScanBatch)", rs.full, rs.full_ms, true));
    engines.push_back(MakeScriptqaEngine("scriptqa match-only", rs.match_only, rs.match_only_ms));
    engines.push_back(MakeHyperscanRawEngine(rs.terms));
    engines.push_back(MakeHyperscanRawEngine(rs.terms, /*batch=*/true));
    engines.push_back(MakeNaiveEngine(rs.terms));
    if (auto e = MakeRe2SetEngine(rs.terms, rs.regexes)) engines.push_back(std::move(e));
    if (auto e = MakeIcuEngine(rs.terms, rs.regexes)) engines.push_back(std::move(e));
    for (const auto& e : engines) {
      if (std::find(names.begin(), names.end(), e->name()) == names.end())
        names.push_back(e->name());
      auto w = e->NewWorker();
      // Warm up on a few messages and size the sample so that slow engines stay affordable
      // under valgrind (instrumented code runs ~50x slower than native).
      double t0 = NowNs();
      size_t warm = std::min<size_t>(20, sample.size());
      for (size_t i = 0; i < warm; ++i) w->Scan(*sample[i]);
      double per_msg = (NowNs() - t0) / static_cast<double>(warm);
      size_t n = sample.size();
      if (per_msg * 8 * static_cast<double>(n) > 5e9)
        n = std::max<size_t>(10, static_cast<size_t>(5e9 / (per_msg * 8)));
      std::vector<const std::string*> sub;
      size_t k = std::max<size_t>(1, sample.size() / n);
      for (size_t i = 0; i < sample.size(); i += k) sub.push_back(sample[i]);
      std::vector<std::string_view> views;
      for (const std::string* m : sub) views.push_back(*m);
      w->ScanMany(views);  // DFA caches, buffers
      uint64_t ir = counter.Count([&] { w->ScanMany(views); });
      per[e->name()].resize(specs.size(), 0);
      per[e->name()][labels.size() - 1] = static_cast<double>(ir) / static_cast<double>(sub.size());
      std::fprintf(stderr, "instructions: %s / %s: %zu messages\n", rs.label.c_str(),
                   e->name().c_str(), sub.size());
    }
  }
  std::printf("\n## Instructions per message (callgrind, %zu agent messages of the %s)\n\n",
              sample.size(),
              msgs.source.rfind("corpus", 0) == 0 ? "real corpus" : "bundled synthetic set");
  std::printf("Counted inside the scan loops only; independent of machine load. Instructions are "
              "not time (SIMD code does more per instruction, a DFA waits on memory), so read these "
              "as a cross-check of the timed ratios.\n\n| engine |");
  for (const auto& l : labels) std::printf(" %s |", l.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < labels.size(); ++i) std::printf("--:|");
  std::printf("\n");
  const std::vector<double>& base = per["scriptqa full"];
  for (const std::string& name : names) {
    std::printf("| %s |", name.c_str());
    for (size_t i = 0; i < labels.size(); ++i) {
      double v = per[name][i];
      if (v == 0) {
        std::printf(" – |");
      } else if (name == "scriptqa full") {
        std::printf(" %.0f |", v);
      } else {
        std::printf(" %.0f (%s) |", v, Ratio(v / base[i]).c_str());
      }
    }
    std::printf("\n");
  }
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t e = s.find(',', p);
    if (e == std::string_view::npos) e = s.size();
    if (e > p) out.emplace_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

// Each comma-separated value of `list` as a T within [lo, hi], or exit(2) naming the flag
// (gateway::FlagNumber: not an uncaught std::stoul exception, and not "16x" read as 16). An empty
// list stays empty (`--lengths=` skips the length sweep).
template <typename T>
std::vector<T> NumberList(const std::string& flag, std::string_view list, T lo, T hi) {
  std::vector<T> out;
  for (const std::string& s : SplitList(list)) out.push_back(gateway::FlagNumber(flag, s, lo, hi));
  return out;
}

}  // namespace
}  // namespace scriptqa::bench

int main(int argc, char** argv) {
  using namespace scriptqa::bench;
  Config cfg;
  std::string instructions;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&](std::string_view key, std::string_view* v) {
      if (a.substr(0, key.size()) != key) return false;
      *v = a.substr(key.size());
      return true;
    };
    std::string_view v;
    if (val("--rules=", &v)) {
      cfg.rule_sets = SplitList(v);
    } else if (val("--lengths=", &v)) {
      cfg.lengths = NumberList<size_t>("--lengths", v, 1, size_t{1} << 30);
    } else if (val("--threads=", &v)) {
      cfg.threads = NumberList<int>("--threads", v, 1, 256);
    } else if (val("--cell-seconds=", &v)) {
      auto seconds = NumberList<double>("--cell-seconds", v, 0.001, 3600);
      if (seconds.size() != 1) {
        std::fprintf(stderr, "--cell-seconds: one value, not %zu\n", seconds.size());
        return 2;
      }
      cfg.cell_seconds = seconds[0];
    } else if (val("--instructions=", &v)) {
      instructions = std::string(v);
    } else if (a == "--synthetic") {
      cfg.synthetic = true;
    } else if (a == "--quick") {
      cfg.cell_seconds = 0.05;
      cfg.rule_sets = {"100", "default"};
      cfg.lengths = {16, 1024};
    } else {
      std::fprintf(stderr,
                   "usage: %s [--rules=100,1000,5000,default] [--lengths=16,...] "
                   "[--threads=1,2] [--cell-seconds=S] [--synthetic] [--quick] [--instructions=CALLGRIND_OUT]\n",
                   argv[0]);
      return 2;
    }
  }
  auto msgs = LoadAgentMessages(cfg.synthetic);
  if (!msgs.ok()) {
    std::fprintf(stderr, "compare: %s\n", std::string(msgs.status().message()).c_str());
    return 1;
  }
  if (!instructions.empty()) {
    RunInstructions(cfg.rule_sets, *msgs, instructions);
    return 0;
  }
  MeasureTimerOverhead();
  std::printf("# scriptqa vs peers\n\nMessages: %s (%zu agent messages, %zu bytes, mean %.0f B). "
              "Timer overhead subtracted: %.0f ns.\n",
              msgs->source.rfind("corpus", 0) == 0 ? "real corpus" : "bundled synthetic",
              msgs->messages.size(), msgs->bytes(),
              static_cast<double>(msgs->bytes()) / msgs->messages.size(), g_timer_overhead_ns);
  BuildAndLoad();
  for (const std::string& spec : cfg.rule_sets) RunRuleSet(cfg, spec, *msgs);

  // The performance targets (default packs, one thread; each ratio from this run).
  std::printf("\n## Bars\n\n| bar | measured | |\n|---|--:|---|\n");
  int failed = 0;
  for (const auto& b : g_bars) {
    std::printf("| %s | %s | %s |\n", b.bar.c_str(), b.measured.c_str(), b.pass ? "met" : "MISSED");
    failed += !b.pass;
  }
  std::printf("\n%d of %zu bars met.\n", static_cast<int>(g_bars.size()) - failed, g_bars.size());
  return 0;
}
