// The matchers compared in bench/compare.cc, behind one small interface. Every engine reports the
// spans it finds into a reused vector, so that each one pays for building its result.
//
//   scriptqa full        Scanner::Scan (callback form): normalise, match, confirm, build findings
//   scriptqa batch       the same pipeline through Scanner::ScanBatch: what an archive audit or a
//                        batch job uses (throughput only; per message it is scriptqa full)
//   scriptqa match-only  the same with NormalizationOptions{fold_width, fold_case,
//                        traditional_to_simplified, skip_noise = false} (see docs/benchmarks.md)
//   hyperscan raw        hs_scan of the raw terms compiled with the literal API: the engine floor
//   hyperscan raw batch  the same over the messages joined into ~64 KiB buffers, one hs_scan per
//                        buffer: the engine floor of a batch (throughput only)
//   naive find           std::string_view::find of every term over the message
//   RE2::Set + RE2       RE2::Set says which terms occur; one RE2 per matched term finds the spans
//   ICU regex            one icu::RegexMatcher over the alternation of all terms
#ifndef SCRIPTQA_BENCH_PEERS_H_
#define SCRIPTQA_BENCH_PEERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scriptqa/filter.h"

namespace scriptqa::bench {

using Spans = std::vector<std::pair<uint32_t, uint32_t>>;

// Per-thread state of an engine.
class Worker {
 public:
  virtual ~Worker() = default;
  // Finds every match in `text`; returns how many (spans are left in spans()).
  virtual size_t Scan(std::string_view text) = 0;
  // Scans every message of `texts` (as a batch where the engine has a batch form: only scriptqa
  // does; the others scan one message at a time, which is their fastest way); returns the number
  // of matches over all of them.
  virtual size_t ScanMany(const std::vector<std::string_view>& texts) {
    size_t n = 0;
    for (std::string_view t : texts) n += Scan(t);
    return n;
  }
  const Spans& spans() const { return spans_; }

 protected:
  Spans spans_;
};

class Engine {
 public:
  virtual ~Engine() = default;
  const std::string& name() const { return name_; }
  const std::string& note() const { return note_; }  // e.g. patterns it could not take
  double build_ms() const { return build_ms_; }
  virtual std::unique_ptr<Worker> NewWorker() const = 0;

 protected:
  std::string name_;
  std::string note_;
  double build_ms_ = 0;
};

std::unique_ptr<Engine> MakeScriptqaEngine(std::string name, std::shared_ptr<const Filter> filter,
                                           double build_ms, bool batch = false);
// With `batch`, ScanMany joins the messages into ~64 KiB buffers (one hs_scan each).
std::unique_ptr<Engine> MakeHyperscanRawEngine(const std::vector<std::string>& terms,
                                               bool batch = false);
std::unique_ptr<Engine> MakeNaiveEngine(const std::vector<std::string>& terms);
// Returns nullptr when built without RE2.
std::unique_ptr<Engine> MakeRe2SetEngine(const std::vector<std::string>& terms,
                                         const std::vector<std::string>& regexes);
// Returns nullptr when built without ICU.
std::unique_ptr<Engine> MakeIcuEngine(const std::vector<std::string>& terms,
                                      const std::vector<std::string>& regexes);

}  // namespace scriptqa::bench

#endif  // SCRIPTQA_BENCH_PEERS_H_
