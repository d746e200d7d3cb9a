// Fuzz target: the normaliser, through the public API.
//   * Filter::Normalize gives valid UTF-8 and is idempotent, under several option sets;
//   * Explain's normalised text is Filter::Normalize's (the with-offset-map and the fast path
//     agree);
//   * every raw hit's original span (Trace::bytes) lies inside the message, on character
//     boundaries, and the map is monotonic: a later normalised start never maps to an earlier
//     original start (likewise for ends);
//   * the normalised text of a hit is contained in the normalisation of its original span.
// Input: byte 0 picks the option set, the rest is the message.
#include <algorithm>
#include <array>

#include "fuzz_util.h"

namespace scriptqa::fuzz {
namespace {

// Short, frequent patterns so that most inputs have raw hits and the offset map is exercised.
constexpr char kRules[] =
    "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
    "rule f.lit\n  literal a | 1 | 加 | 微信 | 最佳 | kg | ss | 后 | 你 | x | 0 | e\n  reason r\n"
    "rule f.re\n  regex [0-9a-z]{2,6}\n  reason r\n";

struct Variant {
  const char* name;
  NormalizationOptions options;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v;
  v.push_back({"default", {}});
  NormalizationOptions n;
  n.collapse_repeats = true;
  v.push_back({"collapse_repeats", n});
  n = {};
  n.skip_noise = false;
  v.push_back({"no skip_noise", n});
  n = {};
  n.fold_case = false;
  v.push_back({"no fold_case", n});
  n = {};
  n.fold_width = false;
  v.push_back({"no fold_width", n});
  n = {};
  n.traditional_to_simplified = false;
  v.push_back({"no t2s", n});
  n = {};
  n.significant = "";
  n.extra_noise = "的了";
  v.push_back({"extra_noise", n});
  n = {};
  n.fold_width = n.fold_case = n.traditional_to_simplified = n.skip_noise = false;
  n.collapse_repeats = true;
  v.push_back({"collapse only", n});
  return v;
}

struct Setup {
  Variant variant;
  std::shared_ptr<const Filter> filter;
  std::unique_ptr<Scanner> scanner;
};

std::vector<Setup>& Setups() {
  static std::vector<Setup>* setups = [] {
    auto* s = new std::vector<Setup>();
    for (Variant& v : Variants()) {
      FilterOptions o;
      o.normalization = v.options;
      auto f = MustLoad(Filter::FromDictionaries({DictionarySource::Text("fuzz.rules", kRules)}, o),
                        v.name);
      auto sc = Scanner::Create(f);
      FUZZ_CHECK(sc.ok(), "Scanner::Create: %s", std::string(sc.status().message()).c_str());
      s->push_back({v, f, std::make_unique<Scanner>(std::move(*sc))});
    }
    return s;
  }();
  return *setups;
}

void Check(Setup& s, std::string_view text) {
  const char* name = s.variant.name;
  const Filter& f = *s.filter;
  const std::string out = f.Normalize(text);
  FUZZ_CHECK(IsValidUtf8(out), "[%s] normalised text is not valid UTF-8: in %s out %s", name,
             Hex(text).c_str(), Hex(out).c_str());
  const std::string twice = f.Normalize(out);
  if (!Ignored("normalize_idempotent"))
    FUZZ_CHECK(twice == out, "[%s] not idempotent: in %s once %s twice %s", name,
               Hex(text).c_str(), Hex(out).c_str(), Hex(twice).c_str());

  absl::StatusOr<Explanation> e = s.scanner->Explain(text);
  FUZZ_CHECK(e.ok(), "[%s] Explain failed: %s", name, std::string(e.status().message()).c_str());
  if (e->traces.empty()) return;  // the fast path: no map was built
  FUZZ_CHECK(e->normalized == out, "[%s] Explain and Normalize disagree: in %s explain %s normalize %s",
             name, Hex(text).c_str(), Hex(e->normalized).c_str(), Hex(out).c_str());
  const std::vector<int64_t> chars = CharIndex(text);
  const std::vector<int64_t> nchars = CharIndex(e->normalized);
  std::vector<const Trace*> by_begin, by_end;
  for (const Trace& t : e->traces) {
    FUZZ_CHECK(t.rule != nullptr, "[%s] trace without rule", name);
    FUZZ_CHECK(t.normalized.begin < t.normalized.end && t.normalized.end <= e->normalized.size(),
               "[%s] normalised span [%zu,%zu) outside normalised text of %zu bytes; in %s", name,
               t.normalized.begin, t.normalized.end, e->normalized.size(), Hex(text).c_str());
    FUZZ_CHECK(nchars[t.normalized.begin] >= 0 && nchars[t.normalized.end] >= 0,
               "[%s] normalised span [%zu,%zu) not on character boundaries; in %s", name,
               t.normalized.begin, t.normalized.end, Hex(text).c_str());
    FUZZ_CHECK(t.bytes.begin < t.bytes.end && t.bytes.end <= text.size(),
               "[%s] original span [%zu,%zu) outside the message of %zu bytes; in %s", name,
               t.bytes.begin, t.bytes.end, text.size(), Hex(text).c_str());
    FUZZ_CHECK(chars[t.bytes.begin] >= 0 && chars[t.bytes.end] >= 0,
               "[%s] original span [%zu,%zu) not on character boundaries; in %s", name,
               t.bytes.begin, t.bytes.end, Hex(text).c_str());
    if (!s.variant.options.collapse_repeats) {
      // The hit's normalised text comes from its original span (an expansion such as ㎏ -> kg may
      // contribute more than the hit, never less).
      std::string from = f.Normalize(text.substr(t.bytes.begin, t.bytes.size()));
      std::string_view hit(e->normalized.data() + t.normalized.begin, t.normalized.size());
      FUZZ_CHECK(from.find(hit) != std::string::npos,
                 "[%s] hit '%s' [%zu,%zu) is not in the normalisation '%s' of its original span "
                 "[%zu,%zu); in %s",
                 name, Hex(hit).c_str(), t.normalized.begin, t.normalized.end, Hex(from).c_str(),
                 t.bytes.begin, t.bytes.end, Hex(text).c_str());
    }
    by_begin.push_back(&t);
    by_end.push_back(&t);
  }
  std::sort(by_begin.begin(), by_begin.end(), [](const Trace* a, const Trace* b) {
    return a->normalized.begin < b->normalized.begin;
  });
  std::sort(by_end.begin(), by_end.end(), [](const Trace* a, const Trace* b) {
    return a->normalized.end < b->normalized.end;
  });
  for (size_t i = 1; i < by_begin.size(); ++i) {
    FUZZ_CHECK(by_begin[i - 1]->bytes.begin <= by_begin[i]->bytes.begin,
               "[%s] map not monotonic: normalised start %zu -> %zu but %zu -> %zu; in %s", name,
               by_begin[i - 1]->normalized.begin, by_begin[i - 1]->bytes.begin,
               by_begin[i]->normalized.begin, by_begin[i]->bytes.begin, Hex(text).c_str());
    FUZZ_CHECK(by_end[i - 1]->bytes.end <= by_end[i]->bytes.end,
               "[%s] map not monotonic: normalised end %zu -> %zu but %zu -> %zu; in %s", name,
               by_end[i - 1]->normalized.end, by_end[i - 1]->bytes.end, by_end[i]->normalized.end,
               by_end[i]->bytes.end, Hex(text).c_str());
  }
  for (const Finding& fd : e->findings) CheckFinding(fd, text, chars, name);
}

}  // namespace
}  // namespace scriptqa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa::fuzz;
  Input in(data, size);
  auto& setups = Setups();
  Setup& s = setups[in.Byte() % setups.size()];
  std::string text = in.Rest();
  Check(s, text);
  return 0;
}
