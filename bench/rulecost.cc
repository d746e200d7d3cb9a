// scriptqa_rulecost — which rules make the database large, the compile slow or the scan slow.
// A tool for dictionary editors, in the spirit of Hyperscan's patbench.
//
//   scriptqa_rulecost [options] [DICTIONARY ...]
//     DICTIONARY        rule files or term lists (default: the shipped packs, Filter::Default())
//     --generated=N     use N generated terms instead (one rule each; what a bulk import costs)
//     --messages=FILE   messages to scan: a .jsonl transcript (agent messages) or a text file with
//                       one message per line (default: the corpus when present, else the bundled
//                       synthetic messages)
//     --synthetic       use the bundled synthetic messages
//     --top=N           rows per table (default 10)
//     --passes=N        timed passes over the messages per measurement, fastest kept (default 7)
//     --no-loo          skip the leave-one-out builds
//     --instructions=P  count instructions instead of timing (deterministic; on at most ~1,000
//                       of the messages), when run as
//                         valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=P \
//                             scriptqa_rulecost --instructions=P ...
//
// For every rule it measures, through the public API only:
//   alone:         a filter holding only this rule (FilterOptions::disabled_rules = every other
//                  rule): compile time, database bytes, scan time per message above the cheapest
//                  one-rule filter (which is itself reported against a filter that never
//                  matches: normalisation + engine call);
//   leave-one-out: the full filter without this rule: the database bytes and scan time it saves;
//   raw hits:      over the messages (Scanner::Explain), how often the rule's patterns hit and how
//                  many of those hits the confirmation stage suppressed — each one costs a check.
// Timings are the fastest of --passes passes in thread CPU time; leave-one-out differences are
// small against the whole scan, so read them as a ranking, and trust differences above ~5 %.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench_util.h"
#include "scriptqa/scanner.h"

namespace scriptqa::bench {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "rulecost: %s: %s\n", what, std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

struct Options {
  std::vector<std::string> files;
  size_t generated = 0;
  std::string messages_file;
  bool synthetic = false;
  size_t top = 10;
  int passes = 7;
  bool loo = true;
  std::string instructions;  // callgrind output prefix
};

// Nanoseconds per message of scanning `msgs` with `filter`: the fastest of `passes` passes, in
// CPU time of this thread. On a shared machine other jobs only ever add time, so the minimum is
// the most repeatable estimate, and CPU time leaves out the time this thread was descheduled.
InstructionCounter* g_counter = nullptr;  // --instructions: count instead of timing

double ScanNsPerMessage(const std::shared_ptr<const Filter>& filter,
                        const std::vector<std::string>& msgs, int passes) {
  Scanner scanner = OrDie(Scanner::Create(filter), "scanner");
  ScanOptions options;
  size_t sink = 0;
  auto pass = [&] {
    for (const std::string& m : msgs) {
      absl::Status st = scanner.Scan(m, options, [&](const Finding&) {
        ++sink;
        return ScanControl::kContinue;
      });
      if (!st.ok()) std::exit(1);
    }
  };
  pass();  // warm the buffers
  if (g_counter) {
    uint64_t ir = g_counter->Count(pass);
    return static_cast<double>(ir) / static_cast<double>(msgs.size());
  }
  double best = 1e300;
  for (int i = 0; i < passes; ++i) {
    double t0 = ThreadCpuNs();
    pass();
    best = std::min(best, (ThreadCpuNs() - t0) / static_cast<double>(msgs.size()));
  }
  if (sink == SIZE_MAX) std::puts("");
  return best;
}

struct Cost {
  std::string id;
  std::string where;
  size_t patterns = 0;
  double alone_compile_ms = 0;
  size_t alone_bytes = 0;
  double alone_scan_ns = 0;  // above the baseline
  double loo_saved_ns = 0;   // full - leave-one-out
  long long loo_saved_bytes = 0;
  size_t raw_hits = 0, suppressed = 0, reported = 0;
};

struct Builder {
  Options opt;
  std::vector<std::string> terms;  // --generated
  FilterOptions base;

  absl::StatusOr<std::shared_ptr<const Filter>> Full() const {
    if (opt.generated) return TermFilter(terms);
    if (opt.files.empty()) return Filter::Default(base);
    return Filter::FromFiles(opt.files, base);
  }
  // Only rule `i` (of `all`), or everything but rule `i`.
  absl::StatusOr<std::shared_ptr<const Filter>> Alone(const Filter& all, size_t i) const {
    if (opt.generated) return TermFilter({terms[i]});
    FilterOptions o = base;
    for (size_t k = 0; k < all.rules().size(); ++k)
      if (k != i) o.disabled_rules.push_back(all.rules()[k].id);
    if (opt.files.empty()) return Filter::Default(o);
    return Filter::FromFiles(opt.files, o);
  }
  absl::StatusOr<std::shared_ptr<const Filter>> Without(const Filter& all, size_t i) const {
    if (opt.generated) {
      std::vector<std::string> t = terms;
      t.erase(t.begin() + static_cast<long>(i));
      return TermFilter(t);
    }
    FilterOptions o = base;
    o.disabled_rules.push_back(all.rules()[i].id);
    if (opt.files.empty()) return Filter::Default(o);
    return Filter::FromFiles(opt.files, o);
  }
};

void PrintTop(const char* title, std::vector<const Cost*> rows, size_t top,
              double (*key)(const Cost&), const char* unit) {
  std::sort(rows.begin(), rows.end(),
            [&](const Cost* a, const Cost* b) { return key(*a) > key(*b); });
  std::printf("\n%s\n", title);
  std::printf("  %-36s %12s   %s\n", "rule", unit, "where");
  for (size_t i = 0; i < std::min(top, rows.size()); ++i)
    std::printf("  %-36s %12.1f   %s\n", rows[i]->id.c_str(), key(*rows[i]),
                rows[i]->where.c_str());
}

int Main(int argc, char** argv) {
  Builder b;
  Options& opt = b.opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&](std::string_view key, std::string* v) {
      if (a.substr(0, key.size()) != key) return false;
      *v = std::string(a.substr(key.size()));
      return true;
    };
    std::string v;
    if (val("--generated=", &v)) {
      if (!absl::SimpleAtoi(v, &opt.generated)) return 2;
    } else if (val("--messages=", &v)) {
      opt.messages_file = v;
    } else if (a == "--synthetic") {
      opt.synthetic = true;
    } else if (val("--top=", &v)) {
      if (!absl::SimpleAtoi(v, &opt.top)) return 2;
    } else if (val("--passes=", &v)) {
      if (!absl::SimpleAtoi(v, &opt.passes) || opt.passes < 1) return 2;
    } else if (a == "--no-loo") {
      opt.loo = false;
    } else if (val("--instructions=", &v)) {
      opt.instructions = v;
    } else if (a == "-h" || a == "--help" || (a.size() > 1 && a[0] == '-')) {
      std::fprintf(stderr,
                   "usage: %s [--generated=N] [--messages=FILE] [--synthetic] [--top=N] "
                   "[--passes=N] [--no-loo] [--instructions=CALLGRIND_OUT] [DICTIONARY ...]\n",
                   argv[0]);
      return 2;
    } else {
      opt.files.emplace_back(a);
    }
  }
  if (opt.generated) b.terms = GenerateTerms(opt.generated);

  MessageSet msgs;
  if (!opt.messages_file.empty()) {
    msgs.source = opt.messages_file;
    if (opt.messages_file.size() > 6 &&
        opt.messages_file.compare(opt.messages_file.size() - 6, 6, ".jsonl") == 0) {
      msgs.messages = OrDie(ReadAgentMessagesJsonl(opt.messages_file), "messages");
    } else {
      std::ifstream in(opt.messages_file);
      if (!in) {
        std::fprintf(stderr, "rulecost: %s: cannot open\n", opt.messages_file.c_str());
        return 1;
      }
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) msgs.messages.push_back(line);
    }
  } else {
    msgs = OrDie(LoadAgentMessages(opt.synthetic), "messages");
  }

  std::unique_ptr<InstructionCounter> counter;
  const char* unit = "ns/message";
  if (!opt.instructions.empty()) {
    if (!InstructionCounter::UnderValgrind()) {
      std::fprintf(stderr, "rulecost: --instructions needs valgrind --tool=callgrind "
                           "--instr-atstart=no --callgrind-out-file=%s\n",
                   opt.instructions.c_str());
      return 2;
    }
    counter = std::make_unique<InstructionCounter>(opt.instructions);
    g_counter = counter.get();
    unit = "instr/message";
    // Every k-th message, at most ~1,000: instrumented code runs ~50x slower.
    if (msgs.messages.size() > 1000) {
      std::vector<std::string> sub;
      size_t k = (msgs.messages.size() + 999) / 1000;
      for (size_t i = 0; i < msgs.messages.size(); i += k) sub.push_back(msgs.messages[i]);
      msgs.messages = std::move(sub);
      msgs.source += " (every " + std::to_string(k) + "th message)";
    }
  }
  double t0 = NowNs();
  std::shared_ptr<const Filter> full = OrDie(b.Full(), "dictionaries");
  const double full_compile_ms = (NowNs() - t0) / 1e6;
  std::shared_ptr<const Filter> trivial = OrDie(TrivialFilter(), "trivial filter");
  const double baseline = ScanNsPerMessage(trivial, msgs.messages, opt.passes);
  const double full_ns = ScanNsPerMessage(full, msgs.messages, opt.passes);
  const FilterInfo& info = full->info();
  std::printf("rulecost: %zu rules (%zu literals, %zu regexes), databases %zu bytes, compiled in "
              "%.1f ms\n",
              info.rule_count, info.literal_count, info.regex_count, info.database_bytes,
              full_compile_ms);
  std::printf("messages: %s, %zu messages, %zu bytes\n", msgs.source.c_str(), msgs.messages.size(),
              msgs.bytes());
  std::printf("scan: %.0f %s with all rules; %.0f %s baseline (a filter that never matches: "
              "normalisation + engine call)\n",
              full_ns, unit, baseline, unit);

  // Raw hits per rule over the messages.
  const size_t n = full->rules().size();
  std::vector<Cost> costs(n);
  for (size_t i = 0; i < n; ++i) {
    const Rule& r = full->rules()[i];
    costs[i].id = r.id;
    costs[i].where = r.file.empty() ? "" : absl::StrCat(r.file, ":", r.line);
    costs[i].patterns = r.literals.size() + r.regexes.size();
  }
  {
    Scanner scanner = OrDie(Scanner::Create(full), "scanner");
    for (const std::string& m : msgs.messages) {
      Explanation e = OrDie(scanner.Explain(m), "explain");
      for (const Trace& t : e.traces) {
        if (!t.rule || t.rule->index >= n) continue;
        Cost& c = costs[t.rule->index];
        ++c.raw_hits;
        if (t.decision == Decision::kReported) {
          ++c.reported;
        } else {
          ++c.suppressed;
        }
      }
    }
  }

  std::fprintf(stderr, "rulecost: measuring %zu rules alone%s ...\n", n,
               opt.loo ? " and left out" : "");
  for (size_t i = 0; i < n; ++i) {
    double c0 = NowNs();
    std::shared_ptr<const Filter> alone = OrDie(b.Alone(*full, i), "alone");
    costs[i].alone_compile_ms = (NowNs() - c0) / 1e6;
    costs[i].alone_bytes = alone->info().database_bytes;
    costs[i].alone_scan_ns = ScanNsPerMessage(alone, msgs.messages, opt.passes);
    if (opt.loo) {
      std::shared_ptr<const Filter> without = OrDie(b.Without(*full, i), "leave-one-out");
      costs[i].loo_saved_bytes = static_cast<long long>(info.database_bytes) -
                                 static_cast<long long>(without->info().database_bytes);
      costs[i].loo_saved_ns = full_ns - ScanNsPerMessage(without, msgs.messages, opt.passes);
    }
    if ((i + 1) % 50 == 0) std::fprintf(stderr, "  %zu/%zu\n", i + 1, n);
  }

  // Every one-rule filter pays the engine's fixed cost for its kind of database (a literal
  // matcher, a regex engine), which the never-matching baseline does not show; measure the extra
  // cost of each rule against the cheapest one-rule filter instead.
  double cheapest = 1e300;
  for (const Cost& c : costs) cheapest = std::min(cheapest, c.alone_scan_ns);
  for (Cost& c : costs) c.alone_scan_ns -= cheapest;
  std::printf("cheapest one-rule filter: %.0f %s (%.0f above the baseline)\n", cheapest, unit,
              cheapest - baseline);
  std::vector<const Cost*> rows;
  for (const Cost& c : costs) rows.push_back(&c);
  PrintTop("Largest databases (the rule alone; bytes of all its compiled databases):", rows,
           opt.top, [](const Cost& c) { return static_cast<double>(c.alone_bytes); }, "bytes");
  PrintTop("Slowest to compile (the rule alone):", rows, opt.top,
           [](const Cost& c) { return c.alone_compile_ms; }, "ms");
  PrintTop("Slowest to scan (the rule alone, above the cheapest one-rule filter):", rows, opt.top,
           [](const Cost& c) { return c.alone_scan_ns; }, unit);
  if (opt.loo) {
    PrintTop("Scan time saved by leaving the rule out of the full set:", rows, opt.top,
             [](const Cost& c) { return c.loo_saved_ns; }, unit);
    PrintTop("Database bytes saved by leaving the rule out of the full set:", rows, opt.top,
             [](const Cost& c) { return static_cast<double>(c.loo_saved_bytes); }, "bytes");
  }
  PrintTop("Most raw hits over the messages (each one is confirmed; see 'suppressed'):", rows,
           opt.top, [](const Cost& c) { return static_cast<double>(c.raw_hits); }, "raw hits");
  std::printf("\n  %-36s %9s %9s %10s\n", "rule (raw hits ≥ 1)", "raw hits", "reported",
              "suppressed");
  std::vector<const Cost*> by_hits = rows;
  std::sort(by_hits.begin(), by_hits.end(),
            [](const Cost* a, const Cost* b) { return a->suppressed > b->suppressed; });
  for (size_t i = 0; i < std::min(opt.top, by_hits.size()); ++i) {
    if (by_hits[i]->raw_hits == 0) break;
    std::printf("  %-36s %9zu %9zu %10zu\n", by_hits[i]->id.c_str(), by_hits[i]->raw_hits,
                by_hits[i]->reported, by_hits[i]->suppressed);
  }
  double sum_alone = 0;
  for (const Cost& c : costs) sum_alone += c.alone_scan_ns;
  std::printf("\nSum of the per-rule extra costs: %.0f %s; all rules together: %.0f %s above the "
              "cheapest one-rule filter (Hyperscan shares work between patterns, so the sum "
              "overstates the whole).\n",
              sum_alone, unit, std::max(0.0, full_ns - cheapest), unit);
  return 0;
}

}  // namespace
}  // namespace scriptqa::bench

int main(int argc, char** argv) { return scriptqa::bench::Main(argc, argv); }
