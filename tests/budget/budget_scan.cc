// Scans a fixed message set with several filters, counting instructions only inside the scan
// loops (callgrind client requests). Run under
//   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=DIR/cg.out \
//       scriptqa_budget_scan [--passes=N] [--messages=FILE] [--phases=a,b,...] [--rules=F,...]
// Each phase ends with CALLGRIND_DUMP_STATS_AT("phase:NAME"); check_budget.cmake reads the dumps
// and compares instructions per message with bench/budget.json. Outside valgrind the client
// requests do nothing, so the program doubles as a plain profiling driver (--time prints ns/msg).
//
// Phases (all deterministic; none depends on the corpus):
//   normalize   a filter whose one rule never matches: normalisation + engine call + overhead
//   terms1000   1,000 generated terms (bench_util.h GenerateTerms, fixed seed)
//   rules       bench/data/budget.rules: a frozen rule file exercising every confirmation feature
//   default     the shipped packs (they change as the dictionaries are edited; see budget.json)
//   batch       the shipped packs through Scanner::ScanBatch (the whole message set per call)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else  // without valgrind's header the program still runs; the test then reports a skip
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(x) (void)(x)
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "scriptqa/scanner.h"

namespace {

using scriptqa::bench::LoadSyntheticMessages;

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "budget_scan: %s: %s\n", what, std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

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

}  // namespace

int main(int argc, char** argv) {
  int passes = 2;
  bool time = false;
  std::string messages_file;
  std::vector<std::string> rule_files;  // --rules: the "default" and "batch" phases use these instead
  std::vector<std::string> phases = {"normalize", "terms1000", "rules", "default", "batch"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--passes=", 0) == 0) {
      passes = std::atoi(a.c_str() + 9);
    } else if (a.rfind("--messages=", 0) == 0) {
      messages_file = a.substr(11);
    } else if (a.rfind("--phases=", 0) == 0) {
      phases = Split(a.substr(9));
    } else if (a.rfind("--rules=", 0) == 0) {
      rule_files = Split(a.substr(8));
    } else if (a == "--time") {
      time = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--passes=N] [--messages=FILE] [--phases=normalize,terms1000,rules,"
                   "default,batch] [--rules=FILE,...] [--time]\n",
                   argv[0]);
      return 2;
    }
  }
  std::vector<std::string> msgs;
  if (messages_file.empty()) {
    msgs = OrDie(LoadSyntheticMessages(), "messages").messages;
  } else {
    std::ifstream in(messages_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') msgs.push_back(line);
  }
  size_t bytes = 0;
  for (const auto& m : msgs) bytes += m.size();

  for (const std::string& phase : phases) {
    std::shared_ptr<const scriptqa::Filter> filter;
    if (phase == "normalize") {
      filter = OrDie(scriptqa::bench::TrivialFilter(), "trivial filter");
    } else if (phase == "terms1000") {
      filter = OrDie(scriptqa::bench::TermFilter(scriptqa::bench::GenerateTerms(1000)), "terms");
    } else if (phase == "rules") {
      filter = OrDie(scriptqa::Filter::FromFiles({scriptqa::bench::DataDir() + "/budget.rules"}),
                     "budget.rules");
    } else if (phase == "default" || phase == "batch") {
      filter = rule_files.empty() ? OrDie(scriptqa::Filter::Default(), "default packs")
                                  : OrDie(scriptqa::Filter::FromFiles(rule_files), "--rules");
    } else {
      std::fprintf(stderr, "budget_scan: unknown phase '%s'\n", phase.c_str());
      return 2;
    }
    scriptqa::Scanner scanner = OrDie(scriptqa::Scanner::Create(filter), "scanner");
    scriptqa::ScanOptions options;
    size_t findings = 0;
    std::vector<std::string_view> views(msgs.begin(), msgs.end());
    auto pass = [&] {
      if (phase == "batch") {
        absl::Status st = scanner.ScanBatch(
            views, options,
            [&](size_t, const absl::Status& s, absl::Span<const scriptqa::Finding> fs) {
              if (!s.ok()) {
                std::fprintf(stderr, "budget_scan: scan failed: %s\n",
                             std::string(s.message()).c_str());
                std::exit(1);
              }
              findings += fs.size();
            });
        if (!st.ok()) {
          std::fprintf(stderr, "budget_scan: batch failed: %s\n", std::string(st.message()).c_str());
          std::exit(1);
        }
        return;
      }
      for (const std::string& m : msgs) {
        absl::Status st = scanner.Scan(m, options, [&](const scriptqa::Finding&) {
          ++findings;
          return scriptqa::ScanControl::kContinue;
        });
        if (!st.ok()) {
          std::fprintf(stderr, "budget_scan: scan failed: %s\n", std::string(st.message()).c_str());
          std::exit(1);
        }
      }
    };
    pass();  // warm: buffers grow to their final size outside the counted region
    findings = 0;
    auto t0 = std::chrono::steady_clock::now();
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
    for (int p = 0; p < passes; ++p) pass();
    CALLGRIND_STOP_INSTRUMENTATION;
    std::string name = "phase:" + phase;
    CALLGRIND_DUMP_STATS_AT(name.c_str());
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    std::printf("phase %s: rules=%zu hash=%016llx messages=%zu bytes=%zu passes=%d findings=%zu",
                phase.c_str(), filter->info().rule_count,
                static_cast<unsigned long long>(filter->info().rules_hash), msgs.size(), bytes,
                passes, findings);
    if (time) std::printf(" ns/msg=%.0f", ns / passes / static_cast<double>(msgs.size()));
    std::printf("\n");
  }
  return 0;
}
