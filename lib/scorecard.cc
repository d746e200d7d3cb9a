// Scorecards (scriptqa/conversation.h): the file format of docs/scorecard.md, the cue vocabulary,
// and the time parsing the conversation checks share with the front ends.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "scorecard_impl.h"
#include "scriptqa/conversation.h"
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"

namespace scriptqa {

// ---------------------------------------------------------------- times

absl::StatusOr<int64_t> EpochToMillis(double v) {
  if (!std::isfinite(v) || v < 0 || v > 1e16)
    return absl::InvalidArgumentError("epoch time out of range");
  return static_cast<int64_t>(v > 1e11 ? std::llround(v) : std::llround(v * 1000.0));
}

absl::StatusOr<int64_t> ParseTimestamp(std::string_view text, absl::TimeZone zone) {
  absl::string_view s = absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  if (s.empty()) return absl::InvalidArgumentError("empty timestamp");
  if (s.find_first_not_of("0123456789.") == absl::string_view::npos) {
    double v;
    if (std::count(s.begin(), s.end(), '.') > 1 || !absl::SimpleAtod(s, &v))
      return absl::InvalidArgumentError(absl::StrCat("not a number: \"", s, "\""));
    return EpochToMillis(v);
  }
  // ISO 8601 through absl::ParseTime. The date-time separator may be 'T', 't' or a blank
  // (absl's %ET takes only 'T' or 't'): write 'T' into a copy.
  std::string copy(s);
  if (copy.size() > 10 && (copy[10] == ' ' || copy[10] == 't')) copy[10] = 'T';
  static constexpr const char* kFormats[] = {
      "%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%M:%E*S",
      "%Y-%m-%dT%H:%M",         "%Y-%m-%d",
  };
  absl::Time t;
  std::string err;
  for (const char* format : kFormats)
    if (absl::ParseTime(format, copy, zone, &t, &err)) return absl::ToUnixMillis(t);
  return absl::InvalidArgumentError(absl::StrCat("not a timestamp: \"", s, "\""));
}

absl::StatusOr<absl::TimeZone> ParseTimeZone(std::string_view name) {
  absl::string_view n = absl::StripAsciiWhitespace(absl::string_view(name.data(), name.size()));
  std::string upper = absl::AsciiStrToUpper(n);
  if (upper == "UTC" || upper == "Z" || upper == "GMT") return absl::UTCTimeZone();
  absl::string_view off = n;
  if (upper.rfind("UTC", 0) == 0 || upper.rfind("GMT", 0) == 0) off.remove_prefix(3);
  if (!off.empty() && (off[0] == '+' || off[0] == '-')) {
    int sign = off[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : off.substr(1))
      if (c != ':') digits.push_back(c);
    int h = 0, m = 0;
    bool ok = !digits.empty() && digits.size() <= 4 &&
              digits.find_first_not_of("0123456789") == std::string::npos;
    if (ok) {
      if (digits.size() <= 2) {
        h = std::atoi(digits.c_str());
      } else {
        h = std::atoi(digits.substr(0, digits.size() - 2).c_str());
        m = std::atoi(digits.substr(digits.size() - 2).c_str());
      }
      ok = h <= 14 && m <= 59;
    }
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad time zone offset \"", n, "\""));
    return absl::FixedTimeZone(sign * (h * 3600 + m * 60));
  }
  absl::TimeZone tz;
  if (!n.empty() && absl::LoadTimeZone(std::string(n), &tz)) return tz;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown time zone \"", n,
                   "\" (UTC, an offset such as +08:00, or a name such as Asia/Shanghai)"));
}

// ---------------------------------------------------------------- names

namespace {

// Debian's Abseil has its own string_view type.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string JoinNames(const std::string_view* names, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i ? ", " : "", AV(names[i]));
  return out;
}

constexpr std::string_view kCheckNames[kCheckCount] = {
    "first_response", "reply_time", "longest_wait",    "greeting", "closing",
    "unanswered",     "upset",      "repeat_question", "findings"};
constexpr std::string_view kCueNames[kCueCount] = {
    "hello",   "identity", "closing",         "apology",  "hollow_empathy", "next_step",
    "promise", "upset",    "acknowledgement", "question", "ask_back"};

}  // namespace

std::string_view CheckName(Check check) { return kCheckNames[static_cast<size_t>(check)]; }
bool ParseCheckName(std::string_view name, Check* check) {
  for (size_t i = 0; i < kCheckCount; ++i) {
    if (kCheckNames[i] == name) {
      *check = static_cast<Check>(i);
      return true;
    }
  }
  return false;
}
std::string_view CueName(Cue cue) { return kCueNames[static_cast<size_t>(cue)]; }
std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOff: return "off";
    case Outcome::kNotApplicable: return "n/a";
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
  }
  return "?";
}

// ---------------------------------------------------------------- the file

namespace {

// Which keys each check takes.
enum Key : uint32_t {
  kKeyEnabled = 1 << 0,
  kKeyPoints = 1 << 1,
  kKeyMax = 1 << 2,
  kKeyLimit = 1 << 3,
  kKeyPromoLimit = 1 << 4,
  kKeyWithin = 1 << 5,
  kKeyExclamation = 1 << 6,
  kKeyRepeat = 1 << 7,
  kKeySimilarity = 1 << 8,
  kKeyMinChars = 1 << 9,
  kKeySeverity = 1 << 10,
};

uint32_t KeysOf(Check c) {
  uint32_t base = kKeyEnabled | kKeyMax;
  switch (c) {
    case Check::kFirstResponse:
    case Check::kLongestWait: return base | kKeyPoints | kKeyLimit;
    case Check::kReplyTime: return base | kKeyPoints | kKeyLimit | kKeyPromoLimit;
    case Check::kGreeting:
    case Check::kUnanswered: return base | kKeyPoints;
    case Check::kClosing: return base | kKeyPoints | kKeyWithin;
    case Check::kUpset: return base | kKeyPoints | kKeyWithin | kKeyExclamation | kKeyRepeat;
    case Check::kRepeatQuestion: return base | kKeyPoints | kKeySimilarity | kKeyMinChars;
    case Check::kFindings: return base | kKeySeverity;
  }
  return base;
}

// The cues each check reads.
std::vector<Cue> CuesOf(Check c) {
  switch (c) {
    case Check::kGreeting: return {Cue::kHello, Cue::kIdentity};
    case Check::kClosing: return {Cue::kClosing};
    case Check::kUnanswered: return {Cue::kAcknowledgement};
    case Check::kUpset: return {Cue::kUpset, Cue::kApology, Cue::kNextStep};
    case Check::kRepeatQuestion: return {Cue::kQuestion};
    default: return {};
  }
}

// A duration: absl::ParseDuration ("30s", "2m", "1h30m", "1.5m") or a plain number of seconds.
bool ParseLimit(absl::string_view v, int64_t* ms) {
  absl::Duration d;
  std::string s(v);
  if (!s.empty() && s.find_first_not_of("0123456789.") == std::string::npos) s += "s";
  if (!absl::ParseDuration(s, &d)) return false;
  if (d <= absl::ZeroDuration() || d > absl::Hours(24)) return false;
  *ms = absl::ToInt64Milliseconds(d);
  return *ms > 0;
}

bool ParseInt(absl::string_view v, int lo, int hi, int* out) {
  int x;
  if (!absl::SimpleAtoi(v, &x) || x < lo || x > hi) return false;
  *out = x;
  return true;
}

bool ParseBool(absl::string_view v, bool* out) {
  std::string s = absl::AsciiStrToLower(v);
  if (s == "yes" || s == "true" || s == "on") return *out = true, true;
  if (s == "no" || s == "false" || s == "off") return *out = false, true;
  return false;
}

bool ParseDayRange(absl::string_view v, DayRange* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(v, absl::MaxSplits("..", 1));
  absl::CivilDay a, b;
  if (!absl::ParseCivilTime(absl::StripAsciiWhitespace(parts[0]), &a)) return false;
  b = a;
  if (parts.size() == 2 && !absl::ParseCivilTime(absl::StripAsciiWhitespace(parts[1]), &b))
    return false;
  if (b < a) return false;
  *out = DayRange{a, b};
  return true;
}

std::string ReadWhole(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return ss.str();
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Join(std::string_view dir, std::string_view name) {
  if (name.empty() || name[0] == '/' || dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

class Parser {
 public:
  Parser(std::string_view name) : name_(name) {}

  void Run(std::string_view text) {
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    uint32_t ln = 0;
    bool seen_format = false;
    bool body = false;
    int current = -1;  // check being read
    for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
      ++ln;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      absl::string_view line = absl::StripAsciiWhitespace(raw);
      if (line.empty() || line[0] == '#') continue;
      bool indented = raw[0] == ' ' || raw[0] == '\t';
      size_t sp = line.find_first_of(" \t");
      absl::string_view key = line.substr(0, sp);
      absl::string_view value =
          sp == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(sp));
      if (key[0] == '%') {
        if (body) {
          Error(ln, absl::StrCat("directive ", key, " after the first statement"));
          continue;
        }
        if (!seen_format) {
          if (key != "%format") {
            Error(ln, "the first statement must be '%format scriptqa-scorecard 1'");
            return;
          }
          if (value != "scriptqa-scorecard 1") {
            Error(ln, absl::StrCat("unsupported format '", value, "' (expected 'scriptqa-scorecard 1')"));
            return;
          }
          seen_format = true;
        } else if (key == "%title") {
          settings_.title = std::string(value);
        } else if (key == "%source" || key == "%license") {
          // Documentation only.
        } else {
          Error(ln, absl::StrCat("unknown directive '", key, "'"));
        }
        continue;
      }
      if (!seen_format) {
        Error(ln, "the first statement must be '%format scriptqa-scorecard 1'");
        return;
      }
      body = true;
      if (indented && current >= 0) {
        CheckKey(ln, static_cast<Check>(current), key, value);
        continue;
      }
      if (indented) {
        Error(ln, absl::StrCat("'", key, "' outside a check (start one with 'check ID')"));
        continue;
      }
      current = -1;
      if (key == "check") {
        Check c;
        if (!ParseCheckName(std::string_view(value.data(), value.size()), &c)) {
          Error(ln, absl::StrCat("unknown check '", value, "' (", JoinNames(kCheckNames, kCheckCount), ")"));
          current = -2;  // skip its keys quietly
          continue;
        }
        size_t i = static_cast<size_t>(c);
        if (check_line_[i] != 0) {
          Error(ln, absl::StrCat("check ", value, " given twice (first at line ", check_line_[i], ")"));
          current = -2;
          continue;
        }
        check_line_[i] = ln;
        settings_.checks[i] = CheckSettings();
        settings_.checks[i].enabled = true;
        current = static_cast<int>(i);
      } else if (key == "cues") {
        if (value.empty()) {
          Error(ln, "cues needs a file name");
        } else if (!cues_.empty()) {
          Error(ln, "cues given twice");
        } else {
          cues_ = std::string(value);
          cues_line_ = ln;
        }
      } else if (key == "promotion") {
        DayRange r;
        if (!ParseDayRange(value, &r))
          Error(ln, absl::StrCat("promotion: expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, got '", value, "'"));
        else
          settings_.promotion_days.push_back(r);
      } else {
        Error(ln, absl::StrCat("unknown statement '", key, "' (check, cues, promotion)"));
      }
    }
    if (!seen_format) Error(ln == 0 ? 1 : ln, "empty scorecard (expected '%format scriptqa-scorecard 1')");
  }

  void CheckKey(uint32_t ln, Check c, absl::string_view key, absl::string_view value) {
    CheckSettings& s = settings_[c];
    auto bad = [&](absl::string_view what) {
      Error(ln, absl::StrCat("check ", AV(CheckName(c)), ": ", key, " must be ", what, ", got '", value, "'"));
    };
    uint32_t k = 0;
    if (key == "enabled") k = kKeyEnabled;
    else if (key == "points") k = kKeyPoints;
    else if (key == "max") k = kKeyMax;
    else if (key == "limit") k = kKeyLimit;
    else if (key == "promo-limit") k = kKeyPromoLimit;
    else if (key == "within") k = kKeyWithin;
    else if (key == "exclamation-run") k = kKeyExclamation;
    else if (key == "repeat") k = kKeyRepeat;
    else if (key == "similarity") k = kKeySimilarity;
    else if (key == "min-chars") k = kKeyMinChars;
    else if (key == "block" || key == "review" || key == "advice") k = kKeySeverity;
    if (k == 0) {
      Error(ln, absl::StrCat("check ", AV(CheckName(c)), ": unknown key '", key, "'"));
      return;
    }
    if ((KeysOf(c) & k) == 0) {
      Error(ln, absl::StrCat("check ", AV(CheckName(c)), ": '", key, "' does not apply to it"));
      return;
    }
    if (value.empty()) {
      Error(ln, absl::StrCat("check ", AV(CheckName(c)), ": '", key, "' needs a value"));
      return;
    }
    switch (k) {
      case kKeyEnabled:
        if (!ParseBool(value, &s.enabled)) bad("yes or no");
        break;
      case kKeyPoints:
        if (!ParseInt(value, 0, 100, &s.points)) bad("an integer from 0 to 100");
        break;
      case kKeyMax:
        if (!ParseInt(value, 0, 100, &s.max_points)) bad("an integer from 0 to 100 (0: no cap)");
        break;
      case kKeyLimit:
        if (!ParseLimit(value, &s.limit_ms)) bad("a duration above 0 and at most 24h (30s, 2m, 1h30m, or seconds)");
        break;
      case kKeyPromoLimit:
        if (!ParseLimit(value, &s.promo_limit_ms)) bad("a duration above 0 and at most 24h (30s, 2m, 1h30m, or seconds)");
        break;
      case kKeyWithin:
        if (!ParseInt(value, 1, 20, &s.within)) bad("an integer from 1 to 20");
        break;
      case kKeyExclamation:
        if (!ParseInt(value, 0, 20, &s.exclamation_run)) bad("an integer from 0 (off) to 20");
        break;
      case kKeyRepeat:
        if (!ParseBool(value, &s.repeat_is_upset)) bad("yes or no");
        break;
      case kKeySimilarity: {
        double x;
        if (!absl::SimpleAtod(value, &x) || !(x > 0 && x <= 1)) bad("a number above 0 and at most 1");
        else s.similarity = x;
        break;
      }
      case kKeyMinChars:
        if (!ParseInt(value, 1, 200, &s.min_chars)) bad("an integer from 1 to 200");
        break;
      case kKeySeverity: {
        Severity sev;
        ParseSeverity(std::string_view(key.data(), key.size()), &sev);
        if (!ParseInt(value, 0, 100, &s.severity_points[static_cast<size_t>(sev)]))
          bad("an integer from 0 to 100");
        break;
      }
    }
  }

  void Error(uint32_t ln, absl::string_view message) {
    errors_.push_back(absl::StrCat(name_, ":", ln, ": ", message));
  }

  std::string name_;
  ScorecardSettings settings_;
  std::array<uint32_t, kCheckCount> check_line_{};
  std::string cues_;
  uint32_t cues_line_ = 0;
  std::vector<std::string> errors_;
};

// Problems of settings that no single statement shows (also for WithSettings).
std::vector<std::string> Validate(const ScorecardSettings& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < kCheckCount; ++i) {
    const CheckSettings& c = s.checks[i];
    Check id = static_cast<Check>(i);
    if (!c.enabled) continue;
    std::string name(CheckName(id));
    uint32_t keys = KeysOf(id);
    if ((keys & kKeyLimit) && c.limit_ms <= 0) out.push_back("check " + name + " needs a limit");
    if ((keys & kKeyPromoLimit) && c.promo_limit_ms <= 0)
      out.push_back("check " + name + " needs a promo-limit (the reply limit in promotion periods)");
    if ((keys & kKeyWithin) && c.within <= 0) out.push_back("check " + name + " needs within (agent messages)");
    if ((keys & kKeySimilarity) && !(c.similarity > 0 && c.similarity <= 1))
      out.push_back("check " + name + " needs a similarity above 0 and at most 1");
    if ((keys & kKeyMinChars) && c.min_chars <= 0) out.push_back("check " + name + " needs min-chars");
    if (c.points < 0 || c.points > 100 || c.max_points < 0 || c.max_points > 100)
      out.push_back("check " + name + ": points and max must be 0 to 100");
    for (int p : c.severity_points)
      if (p < 0 || p > 100) out.push_back("check " + name + ": severity points must be 0 to 100");
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Scorecard

Scorecard::Scorecard(std::unique_ptr<ScorecardImpl> impl) : impl_(std::move(impl)) {}
Scorecard::~Scorecard() = default;

const ScorecardSettings& Scorecard::settings() const { return impl_->settings; }
const std::string& Scorecard::source() const { return impl_->source; }
const std::string& Scorecard::cues_source() const { return impl_->cues_source; }
const std::shared_ptr<const Filter>& Scorecard::cues() const { return impl_->cues; }

absl::StatusOr<std::shared_ptr<const Scorecard>> Scorecard::FromText(std::string_view text,
                                                                     std::string_view name_view,
                                                                     std::string_view base_dir_view) {
  const std::string name(name_view), base_dir(base_dir_view);
  Parser p(name);
  p.Run(text);
  std::vector<std::string> errors = p.errors_;
  for (const std::string& e : Validate(p.settings_)) errors.push_back(absl::StrCat(name, ": ", e));
  bool needs_cues = false;
  for (size_t i = 0; i < kCheckCount; ++i)
    needs_cues = needs_cues || (p.settings_.checks[i].enabled && !CuesOf(static_cast<Check>(i)).empty());
  auto impl = std::make_unique<ScorecardImpl>();
  impl->settings = p.settings_;
  impl->source = std::string(name);
  if (p.cues_.empty() && needs_cues)
    errors.push_back(absl::StrCat(name, ": no 'cues FILE' statement, and checks that read cues are enabled"));
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  if (!p.cues_.empty()) {
    // Beside the scorecard, else among the shipped dictionaries (a copied scorecard keeps the
    // shipped cues).
    std::string path = Join(base_dir, p.cues_);
    if (!IsFile(path)) {
      std::string shipped = Join(Filter::DefaultDictionaryDir(), p.cues_);
      if (p.cues_.find('/') == std::string::npos && IsFile(shipped)) path = shipped;
    }
    if (!IsFile(path))
      return absl::NotFoundError(absl::StrCat(name, ":", p.cues_line_, ": cue file '", p.cues_,
                                              "' not found (looked in '", base_dir, "' and '",
                                              Filter::DefaultDictionaryDir(), "')"));
    absl::StatusOr<std::shared_ptr<const Filter>> cues =
        Filter::FromDictionaries({DictionarySource::File(path)});
    if (!cues.ok())
      return absl::Status(cues.status().code(),
                          absl::StrCat(name, ":", p.cues_line_, ": the cue file does not load:\n",
                                       cues.status().message()));
    impl->cues = *std::move(cues);
    impl->cues_source = path;
    // Every rule's category must be a cue; every cue an enabled check reads must have a rule.
    std::array<bool, kCueCount> have{};
    for (const Rule& r : impl->cues->rules()) {
      uint8_t cue = ScorecardImpl::kNoCue;
      for (size_t i = 0; i < kCueCount; ++i)
        if (kCueNames[i] == r.category) cue = static_cast<uint8_t>(i);
      if (cue == ScorecardImpl::kNoCue) {
        errors.push_back(absl::StrCat(r.file, ":", r.line, ": rule ", r.id, ": category '", r.category,
                                      "' is no cue (", JoinNames(kCueNames, kCueCount), ")"));
      } else {
        have[cue] = true;
      }
      impl->rule_cue.push_back(cue);
    }
    for (size_t i = 0; i < kCheckCount; ++i) {
      if (!p.settings_.checks[i].enabled) continue;
      for (Cue c : CuesOf(static_cast<Check>(i)))
        if (!have[static_cast<size_t>(c)])
          errors.push_back(absl::StrCat(path, ": no rule of category '", AV(CueName(c)), "', which check ",
                                        AV(CheckName(static_cast<Check>(i))), " reads"));
    }
    if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
    for (bool agent : {true, false}) {
      ProfileOptions po;
      for (size_t i = 0; i < kCueCount; ++i) {
        Cue c = static_cast<Cue>(i);
        bool customer_side = c == Cue::kUpset || c == Cue::kAcknowledgement || c == Cue::kQuestion;
        if (customer_side == agent || !have[i]) continue;
        po.enabled_categories.emplace_back(CueName(c));
      }
      if (po.enabled_categories.empty()) continue;  // (empty would enable every category)
      absl::StatusOr<std::shared_ptr<const Profile>> profile = Profile::Create(impl->cues, po);
      if (!profile.ok()) return profile.status();
      (agent ? impl->agent_cues : impl->customer_cues) = *std::move(profile);
    }
  }
  return std::shared_ptr<const Scorecard>(new Scorecard(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<const Scorecard>> Scorecard::FromFile(const std::string& path) {
  if (!IsFile(path)) return absl::NotFoundError(absl::StrCat("cannot read scorecard '", path, "'"));
  bool ok = false;
  std::string text = ReadWhole(path, &ok);
  if (!ok) return absl::NotFoundError(absl::StrCat("cannot read scorecard '", path, "'"));
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty()) dir = "/";
  return FromText(text, path, dir);
}

std::string Scorecard::DefaultPath() { return Join(Filter::DefaultDictionaryDir(), "default.scorecard"); }

absl::StatusOr<std::shared_ptr<const Scorecard>> Scorecard::Default() { return FromFile(DefaultPath()); }

absl::StatusOr<std::shared_ptr<const Scorecard>> Scorecard::WithSettings(ScorecardSettings settings) const {
  std::vector<std::string> errors = Validate(settings);
  for (size_t i = 0; i < kCheckCount; ++i) {
    if (!settings.checks[i].enabled) continue;
    for (Cue c : CuesOf(static_cast<Check>(i))) {
      bool have = false;
      for (uint8_t x : impl_->rule_cue) have = have || x == static_cast<uint8_t>(c);
      if (!have)
        errors.push_back(absl::StrCat("check ", AV(CheckName(static_cast<Check>(i))), " reads cue '",
                                      AV(CueName(c)), "', which the cue file does not have"));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  auto impl = std::make_unique<ScorecardImpl>(*impl_);
  impl->settings = std::move(settings);
  return std::shared_ptr<const Scorecard>(new Scorecard(std::move(impl)));
}

std::string Scorecard::ToJson() const {
  using json = nlohmann::ordered_json;
  const ScorecardSettings& s = impl_->settings;
  json checks = json::array();
  for (size_t i = 0; i < kCheckCount; ++i) {
    const CheckSettings& c = s.checks[i];
    Check id = static_cast<Check>(i);
    uint32_t keys = KeysOf(id);
    json j = {{"check", std::string(CheckName(id))}, {"enabled", c.enabled}};
    if (c.enabled) {
      if (keys & kKeyPoints) j["points"] = c.points;
      if (keys & kKeySeverity)
        j["points"] = {{"block", c.severity_points[2]}, {"review", c.severity_points[1]},
                       {"advice", c.severity_points[0]}};
      j["max_points"] = c.max_points;
      if (keys & kKeyLimit) j["limit_s"] = c.limit_ms / 1000.0;
      if (keys & kKeyPromoLimit) j["promo_limit_s"] = c.promo_limit_ms / 1000.0;
      if (keys & kKeyWithin) j["within"] = c.within;
      if (keys & kKeyExclamation) j["exclamation_run"] = c.exclamation_run;
      if (keys & kKeyRepeat) j["repeat"] = c.repeat_is_upset;
      if (keys & kKeySimilarity) j["similarity"] = c.similarity;
      if (keys & kKeyMinChars) j["min_chars"] = c.min_chars;
    }
    checks.push_back(std::move(j));
  }
  json days = json::array();
  for (const DayRange& d : s.promotion_days)
    days.push_back(absl::StrCat(absl::FormatCivilTime(d.first), "..", absl::FormatCivilTime(d.last)));
  json out = {{"title", s.title},       {"source", impl_->source}, {"cues", impl_->cues_source},
              {"promotion", s.promotion}, {"promotion_days", days}, {"checks", checks}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace scriptqa
