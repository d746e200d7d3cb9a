#include "peers.h"

#include <hs.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "bench_util.h"
#include "scriptqa/scanner.h"

#ifdef SCRIPTQA_BENCH_HAVE_RE2
#include <re2/re2.h>
#include <re2/set.h>
#endif
#ifdef SCRIPTQA_BENCH_HAVE_ICU
#include <unicode/regex.h>
#include <unicode/unistr.h>
#endif

namespace scriptqa::bench {
namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "compare: %s\n", msg.c_str());
  std::exit(1);
}

// ---- scriptqa --------------------------------------------------------------------------------

class ScriptqaWorker : public Worker {
 public:
  ScriptqaWorker(Scanner scanner, bool batch) : scanner_(std::move(scanner)), batch_(batch) {}
  size_t ScanMany(const std::vector<std::string_view>& texts) override {
    if (!batch_) return Worker::ScanMany(texts);
    spans_.clear();
    absl::Status st = scanner_.ScanBatch(
        texts, options_, [this](size_t, const absl::Status& s, absl::Span<const Finding> fs) {
          if (!s.ok()) Die(std::string(s.message()));
          for (const Finding& f : fs)
            spans_.emplace_back(static_cast<uint32_t>(f.bytes.begin),
                                static_cast<uint32_t>(f.bytes.end));
        });
    if (!st.ok()) Die(std::string(st.message()));
    return spans_.size();
  }
  size_t Scan(std::string_view text) override {
    spans_.clear();
    absl::Status st = scanner_.Scan(text, options_, [this](const Finding& f) {
      spans_.emplace_back(static_cast<uint32_t>(f.bytes.begin), static_cast<uint32_t>(f.bytes.end));
      return ScanControl::kContinue;
    });
    if (!st.ok()) Die(std::string(st.message()));
    return spans_.size();
  }

 private:
  Scanner scanner_;
  bool batch_;
  ScanOptions options_;
};

class ScriptqaEngine : public Engine {
 public:
  ScriptqaEngine(std::string name, std::shared_ptr<const Filter> filter, double build_ms,
                 bool batch)
      : filter_(std::move(filter)), batch_(batch) {
    name_ = std::move(name);
    build_ms_ = build_ms;
  }
  std::unique_ptr<Worker> NewWorker() const override {
    absl::StatusOr<Scanner> s = Scanner::Create(filter_);
    if (!s.ok()) Die(std::string(s.status().message()));
    return std::make_unique<ScriptqaWorker>(*std::move(s), batch_);
  }

 private:
  std::shared_ptr<const Filter> filter_;
  bool batch_;
};

// ---- Hyperscan, raw ------------------------------------------------------------------------------

class HsWorker : public Worker {
 public:
  HsWorker(const hs_database_t* db, const std::vector<uint32_t>* lengths)
      : db_(db), lengths_(lengths) {
    if (hs_alloc_scratch(db, &scratch_) != HS_SUCCESS) Die("hs_alloc_scratch failed");
  }
  ~HsWorker() override { hs_free_scratch(scratch_); }
  size_t Scan(std::string_view text) override {
    spans_.clear();
    hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch_, &OnMatch, this);
    return spans_.size();
  }
  // The batched floor: messages joined by '\n' (no term contains one) into ~64 KiB buffers, one
  // hs_scan per buffer, spans in buffer coordinates. What the engine alone costs per byte when its
  // fixed per-call cost is paid once per 64 KiB, as in Scanner::ScanBatch.
  size_t ScanMany(const std::vector<std::string_view>& texts) override {
    if (!batch_) return Worker::ScanMany(texts);
    size_t n = 0;
    size_t i = 0;
    while (i < texts.size()) {
      buffer_.clear();
      while (i < texts.size() && (buffer_.empty() || buffer_.size() + texts[i].size() < kBuffer)) {
        buffer_.append(texts[i].data(), texts[i].size());
        buffer_.push_back('\n');
        ++i;
      }
      n += Scan(buffer_);
    }
    return n;
  }
  void set_batch(bool b) { batch_ = b; }

 private:
  static int OnMatch(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    auto* self = static_cast<HsWorker*>(ctx);
    uint32_t e = static_cast<uint32_t>(to);
    self->spans_.emplace_back(e - (*self->lengths_)[id], e);
    return 0;
  }
  static constexpr size_t kBuffer = 64 << 10;
  const hs_database_t* db_;
  const std::vector<uint32_t>* lengths_;
  hs_scratch_t* scratch_ = nullptr;
  bool batch_ = false;
  std::string buffer_;
};

class HsEngine : public Engine {
 public:
  HsEngine(const std::vector<std::string>& terms, bool batch) : batch_(batch) {
    name_ = batch ? "hyperscan raw batch (64 KiB buffers)" : "hyperscan raw";
    double t0 = NowNs();
    std::vector<const char*> exprs;
    std::vector<size_t> lens;
    std::vector<unsigned> ids, flags;
    for (size_t i = 0; i < terms.size(); ++i) {
      exprs.push_back(terms[i].data());
      lens.push_back(terms[i].size());
      ids.push_back(static_cast<unsigned>(i));
      flags.push_back(0);
      lengths_.push_back(static_cast<uint32_t>(terms[i].size()));
    }
    hs_compile_error_t* err = nullptr;
    if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                             static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db_,
                             &err) != HS_SUCCESS) {
      std::string msg = err && err->message ? err->message : "?";
      hs_free_compile_error(err);
      Die("hyperscan raw: " + msg);
    }
    build_ms_ = (NowNs() - t0) / 1e6;
  }
  ~HsEngine() override { hs_free_database(db_); }
  std::unique_ptr<Worker> NewWorker() const override {
    auto w = std::make_unique<HsWorker>(db_, &lengths_);
    w->set_batch(batch_);
    return w;
  }

 private:
  bool batch_;
  hs_database_t* db_ = nullptr;
  std::vector<uint32_t> lengths_;
};

// ---- naive find loop -------------------------------------------------------------------------

class NaiveWorker : public Worker {
 public:
  explicit NaiveWorker(const std::vector<std::string>* terms) : terms_(terms) {}
  size_t Scan(std::string_view text) override {
    spans_.clear();
    for (const std::string& t : *terms_)
      for (size_t p = text.find(t); p != std::string_view::npos; p = text.find(t, p + 1))
        spans_.emplace_back(static_cast<uint32_t>(p), static_cast<uint32_t>(p + t.size()));
    return spans_.size();
  }

 private:
  const std::vector<std::string>* terms_;
};

class NaiveEngine : public Engine {
 public:
  explicit NaiveEngine(const std::vector<std::string>& terms) : terms_(terms) {
    name_ = "naive find loop";
  }
  std::unique_ptr<Worker> NewWorker() const override {
    return std::make_unique<NaiveWorker>(&terms_);
  }

 private:
  std::vector<std::string> terms_;
};

// ---- RE2::Set + RE2 --------------------------------------------------------------------------

#ifdef SCRIPTQA_BENCH_HAVE_RE2
class Re2Worker : public Worker {
 public:
  Re2Worker(const re2::RE2::Set* set, const std::vector<std::unique_ptr<re2::RE2>>* res)
      : set_(set), res_(res) {}
  size_t Scan(std::string_view text) override {
    spans_.clear();
    ids_.clear();
    re2::StringPiece sp(text.data(), text.size());
    re2::RE2::Set::ErrorInfo info;
    if (!set_->Match(sp, &ids_, &info)) {
      if (info.kind != re2::RE2::Set::kNoError) Die("RE2::Set::Match failed (DFA out of memory?)");
      return 0;
    }
    for (int id : ids_) {
      const re2::RE2& re = *(*res_)[static_cast<size_t>(id)];
      size_t pos = 0;
      re2::StringPiece m;
      while (pos <= text.size() &&
             re.Match(sp, pos, text.size(), re2::RE2::UNANCHORED, &m, 1)) {
        size_t b = static_cast<size_t>(m.data() - text.data());
        size_t e = b + m.size();
        spans_.emplace_back(static_cast<uint32_t>(b), static_cast<uint32_t>(e));
        pos = e > b ? e : e + 1;
      }
    }
    return spans_.size();
  }

 private:
  const re2::RE2::Set* set_;
  const std::vector<std::unique_ptr<re2::RE2>>* res_;
  std::vector<int> ids_;
};

class Re2Engine : public Engine {
 public:
  Re2Engine(const std::vector<std::string>& terms, const std::vector<std::string>& regexes) {
    name_ = "RE2::Set + RE2 spans";
    double t0 = NowNs();
    re2::RE2::Options opt;
    opt.set_max_mem(int64_t{1} << 30);  // generous: the default 8 MiB DFA budget fails at 5,000
    opt.set_log_errors(false);
    set_ = std::make_unique<re2::RE2::Set>(opt, re2::RE2::UNANCHORED);
    size_t skipped = 0;
    auto add = [&](const std::string& pattern) {
      auto re = std::make_unique<re2::RE2>(pattern, opt);
      if (!re->ok() || set_->Add(pattern, nullptr) < 0) {
        ++skipped;
        return;
      }
      res_.push_back(std::move(re));
    };
    for (const std::string& t : terms) add(re2::RE2::QuoteMeta(t));
    for (const std::string& x : regexes) add(x);
    if (!set_->Compile()) Die("RE2::Set::Compile failed");
    build_ms_ = (NowNs() - t0) / 1e6;
    if (skipped) note_ = absl::StrCat(skipped, " patterns rejected by RE2");
  }
  std::unique_ptr<Worker> NewWorker() const override {
    return std::make_unique<Re2Worker>(set_.get(), &res_);
  }

 private:
  std::unique_ptr<re2::RE2::Set> set_;
  std::vector<std::unique_ptr<re2::RE2>> res_;
};
#endif

// ---- ICU regex alternation -------------------------------------------------------------------

#ifdef SCRIPTQA_BENCH_HAVE_ICU
std::string IcuEscape(std::string_view term) {
  std::string out;
  for (char c : term) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

class IcuWorker : public Worker {
 public:
  explicit IcuWorker(const icu::RegexPattern* pattern) {
    UErrorCode st = U_ZERO_ERROR;
    matcher_.reset(pattern->matcher(st));
    if (U_FAILURE(st)) Die("icu matcher");
  }
  size_t Scan(std::string_view text) override {
    spans_.clear();
    // Converting to UTF-16 is part of the price of ICU regex on UTF-8 messages.
    ustr_ = icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
    matcher_->reset(ustr_);
    UErrorCode st = U_ZERO_ERROR;
    while (matcher_->find(st) && U_SUCCESS(st)) {
      // UTF-16 offsets; converting them to byte offsets would only add to ICU's time.
      spans_.emplace_back(static_cast<uint32_t>(matcher_->start(st)),
                          static_cast<uint32_t>(matcher_->end(st)));
    }
    return spans_.size();
  }

 private:
  std::unique_ptr<icu::RegexMatcher> matcher_;
  icu::UnicodeString ustr_;
};

class IcuEngine : public Engine {
 public:
  IcuEngine(const std::vector<std::string>& terms, const std::vector<std::string>& regexes) {
    name_ = "ICU regex alternation";
    double t0 = NowNs();
    std::string alt;
    for (const std::string& t : terms) {
      if (!alt.empty()) alt += '|';
      alt += IcuEscape(t);
    }
    size_t skipped = 0;
    for (const std::string& x : regexes) {
      UErrorCode st = U_ZERO_ERROR;
      UParseError pe;
      std::unique_ptr<icu::RegexPattern> p(icu::RegexPattern::compile(
          icu::UnicodeString::fromUTF8(x), 0, pe, st));
      if (U_FAILURE(st)) {
        ++skipped;
        continue;
      }
      alt += "|(?:" + x + ")";
    }
    UErrorCode st = U_ZERO_ERROR;
    UParseError pe;
    pattern_.reset(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(alt), 0, pe, st));
    if (U_FAILURE(st)) Die(std::string("icu compile: ") + u_errorName(st));
    build_ms_ = (NowNs() - t0) / 1e6;
    if (skipped) note_ = absl::StrCat(skipped, " regexes rejected by ICU");
  }
  std::unique_ptr<Worker> NewWorker() const override {
    return std::make_unique<IcuWorker>(pattern_.get());
  }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;
};
#endif

}  // namespace

std::unique_ptr<Engine> MakeScriptqaEngine(std::string name, std::shared_ptr<const Filter> filter,
                                           double build_ms, bool batch) {
  return std::make_unique<ScriptqaEngine>(std::move(name), std::move(filter), build_ms, batch);
}
std::unique_ptr<Engine> MakeHyperscanRawEngine(const std::vector<std::string>& terms, bool batch) {
  return std::make_unique<HsEngine>(terms, batch);
}
std::unique_ptr<Engine> MakeNaiveEngine(const std::vector<std::string>& terms) {
  return std::make_unique<NaiveEngine>(terms);
}
std::unique_ptr<Engine> MakeRe2SetEngine(const std::vector<std::string>& terms,
                                         const std::vector<std::string>& regexes) {
#ifdef SCRIPTQA_BENCH_HAVE_RE2
  return std::make_unique<Re2Engine>(terms, regexes);
#else
  (void)terms;
  (void)regexes;
  return nullptr;
#endif
}
std::unique_ptr<Engine> MakeIcuEngine(const std::vector<std::string>& terms,
                                      const std::vector<std::string>& regexes) {
#ifdef SCRIPTQA_BENCH_HAVE_ICU
  return std::make_unique<IcuEngine>(terms, regexes);
#else
  (void)terms;
  (void)regexes;
  return nullptr;
#endif
}

}  // namespace scriptqa::bench
