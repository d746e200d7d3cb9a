// Shared helpers of the scriptqa benchmarks, the peer comparison, the rule-cost tool and the
// instruction budget: message sets, generated term lists, filters built from them, percentiles.
//
// Message sources, in order:
//   1. $SCRIPTQA_CORPUS, or ../shared/corpus/jddc_sample_dialogues.jsonl relative to the repository
//      root: the agent messages of the real JD.com sample (never copied into the repository);
//   2. bench/data/synthetic_messages.txt: our own agent-style messages, bundled.
#ifndef SCRIPTQA_BENCH_BENCH_UTIL_H_
#define SCRIPTQA_BENCH_BENCH_UTIL_H_

#include <chrono>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "scriptqa/filter.h"

namespace scriptqa::bench {

// Repository root and the bundled data directory (compile-time paths).
std::string SourceDir();
std::string DataDir();

struct MessageSet {
  std::string source;  // "corpus:<path>" or "synthetic:<path>"
  std::vector<std::string> messages;
  size_t bytes() const;
};

// The corpus agent messages when the corpus is present (unless `synthetic_only`), else the
// bundled synthetic messages. Fails only when neither can be read.
absl::StatusOr<MessageSet> LoadAgentMessages(bool synthetic_only = false);
// The bundled synthetic messages ('#' lines and blank lines skipped).
absl::StatusOr<MessageSet> LoadSyntheticMessages();
// Agent messages of a JSON-lines transcript file (role == "agent").
absl::StatusOr<std::vector<std::string>> ReadAgentMessagesJsonl(const std::string& path);

// Messages of exactly (at most, cut on a character boundary) `bytes` bytes, made by
// concatenating consecutive messages of `base` (joined by "，"); `count` of them.
std::vector<std::string> MessagesOfLength(const std::vector<std::string>& base, size_t bytes,
                                          size_t count);
// All of `base` concatenated and cut into chunks of at most `chunk` bytes on character boundaries.
std::vector<std::string> Chunks(const std::vector<std::string>& base, size_t chunk);

// `n` distinct generated terms: realistic 2–4-character Chinese words drawn (Zipf-like) from
// frequent characters, about 5 % ASCII terms (vx123, abc…). Deterministic for a seed.
std::vector<std::string> GenerateTerms(size_t n, uint64_t seed = 20261122);

// A filter whose rules are the given terms (one term-list rule each, category ad_law, review).
absl::StatusOr<std::shared_ptr<const Filter>> TermFilter(const std::vector<std::string>& terms,
                                                         const NormalizationOptions& norm = {});
// The "match-only" normalisation: nothing folded, nothing skipped (zero-width characters are
// still removed — that is not optional in scriptqa).
NormalizationOptions MatchOnlyNormalization();
// A filter with one rule that never matches real text: the cost of the pipeline without hits,
// i.e. normalisation + an engine call + the call overhead.
absl::StatusOr<std::shared_ptr<const Filter>> TrivialFilter(const NormalizationOptions& norm = {});
// Every literal of every rule of `filter`, as written (for peers that match raw text).
std::vector<std::string> LiteralsOf(const Filter& filter);
// Every regex of every rule of `filter`.
std::vector<std::string> RegexesOf(const Filter& filter);

// Counts the instructions a piece of code executes, when the program runs under
//   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=PREFIX
// (callgrind client requests: only `body` is instrumented; each call dumps PREFIX.<n>, which is
// read back). Returns 0 when not running under callgrind.
class InstructionCounter {
 public:
  explicit InstructionCounter(std::string prefix) : prefix_(std::move(prefix)) {}
  uint64_t Count(const std::function<void()>& body);
  static bool UnderValgrind();

 private:
  std::string prefix_;
  int dumps_ = 0;
};

// p in [0, 100]; sorts a copy. Nearest-rank.
double Percentile(std::vector<double> v, double p);
double Median(std::vector<double> v);

// CPU time of the calling thread: time spent descheduled (other jobs on a shared machine) is not
// counted. A system call (~0.1–0.3 µs): for timing batches, not single scans.
double ThreadCpuNs();

inline double NowNs() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

}  // namespace scriptqa::bench

#endif  // SCRIPTQA_BENCH_BENCH_UTIL_H_
