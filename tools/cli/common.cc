#include "common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <unicode/uchar.h>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "jsonout.h"
#include "scriptqa/mask.h"
#include "utf8util.h"

namespace scriptqa::cli {
namespace {

// "max_regex_bytes, max_regexes, … or max_literals" (kCompileLimitFields); with_defaults, each
// followed by its default: "max_regex_bytes (default 1024), max_regexes (1000), …".
std::string LimitNames(bool with_defaults) {
  const CompileLimits defaults;
  std::string out;
  constexpr size_t n = std::size(kCompileLimitFields);
  for (size_t i = 0; i < n; ++i) {
    const CompileLimitField& f = kCompileLimitFields[i];
    absl::StrAppend(&out, i == 0 ? "" : i + 1 == n ? " or " : ", ", AV(f.name));
    if (with_defaults)
      absl::StrAppend(&out, i == 0 ? " (default " : " (", defaults.*f.bound, ")");
  }
  return out;
}

}  // namespace

void AddCommonFlags(CLI::App* app, CommonFlags* flags, FlagSet set) {
  // One file per --rules: a list would swallow the message that follows ("--rules my.rules
  // 去拼多多买" read the message as a second rules file).
  auto* rules = app->add_option("--rules", flags->rules,
                                "A rule pack or term list to use instead of the default packs "
                                "(repeat the flag for several files)")
                    ->type_name("FILE")
                    ->allow_extra_args(false)
                    ->check(CLI::ExistingFile);
  auto* add = app->add_option("--add-rules", flags->add_rules,
                              "A rule pack or term list to use in addition to the default packs "
                              "(or to the --rules files; repeatable)")
                  ->type_name("FILE")
                  ->allow_extra_args(false)
                  ->check(CLI::ExistingFile);
  auto* db = app->add_option("--db", flags->db, "Serialized rule database made by `scriptqa compile`")
                 ->type_name("FILE")
                 ->check(CLI::ExistingFile)
                 ->excludes(rules)
                 ->excludes(add);
  // A database is compiled already: bounds on compiling it would be silently ignored.
  app->add_option("--limit", flags->limits,
                  absl::StrCat("Raise, lower or lift (N=0) a compile-time bound on the rules "
                               "being compiled (repeatable): ", LimitNames(/*with_defaults=*/true),
                               ". Not with --db"))
      ->type_name("NAME=N")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& arg) {
            absl::StatusOr<CompileLimits> parsed = ParseLimits({arg});
            return parsed.ok() ? std::string() : std::string(parsed.status().message());
          },
          "", "LIMIT"))
      ->excludes(db);
  if (set == FlagSet::kRulesOnly) return;
  auto* profile =
      app->add_option("--profile", flags->profile,
                      "Per-shop profile (JSON, as the chat gateway's profiles): enabled_categories, "
                      "disabled, category_severity, rule_severity, allow_terms, deny_terms, "
                      "deny_category, deny_severity, deny_reason (docs/cli.md)")
          ->type_name("FILE")
          ->check(CLI::ExistingFile);
  app->add_option("--profile-name", flags->profile_name,
                  "Which profile of a --profile file that holds named profiles ({\"shop-a\": {...}})")
      ->type_name("NAME")
      ->needs(profile);
  app->add_option("--min-severity", flags->min_severity,
                  "Report only findings at or above this severity")
      ->type_name("advice|review|block")
      ->check(CLI::IsMember({"advice", "review", "block"}))
      ->capture_default_str();
  app->add_option("--category", flags->categories,
                  "Report only these categories (repeatable, or comma-separated)")
      ->type_name("ID")
      ->delimiter(',')
      ->allow_extra_args(false);
  app->add_option("--fail-on", flags->fail_on,
                  "Exit 1 when a finding has at least this severity")
      ->type_name("block|review|advice|none")
      ->check(CLI::IsMember({"advice", "review", "block", "none"}))
      ->capture_default_str();
  app->add_option("--color", flags->color, "Colour on the terminal")
      ->type_name("auto|always|never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app->add_flag("--json", flags->json, "Machine-readable JSON output");
  app->add_flag("--no-mask", flags->no_mask,
                "Show personal data (category privacy) unmasked in the output");
}

namespace {

absl::Status ApplyLimit(std::string_view arg, CompileLimits* limits) {
  size_t eq = arg.find('=');
  std::string_view name = arg.substr(0, eq);
  const CompileLimitField* field = nullptr;
  for (const CompileLimitField& f : kCompileLimitFields)
    if (f.name == name) field = &f;
  if (field == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected NAME=N with NAME one of ", LimitNames(/*with_defaults=*/false), ", got \"", AV(arg),
                     "\""));
  }
  std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
  size_t n = 0;
  // from_chars takes no sign and no space; it must consume every character ("1x", "1e3" fail).
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AV(name), ": expected a non-negative integer N in ", AV(name),
                     "=N (0 lifts the bound), got \"", AV(arg), "\""));
  }
  limits->*(field->bound) = n;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CompileLimits> ParseLimits(const std::vector<std::string>& args) {
  CompileLimits limits;
  for (const std::string& arg : args) {
    absl::Status st = ApplyLimit(arg, &limits);
    if (!st.ok()) return st;
  }
  return limits;
}

absl::StatusOr<Severity> SeverityFlag(std::string_view flag, std::string_view value) {
  Severity s;
  if (!ParseSeverity(value, &s)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AV(flag), ": expected advice, review or block, got \"", AV(value), "\""));
  }
  return s;
}

namespace {

// ---- compiled-rule cache ----
// Compiling the default packs takes a few hundred milliseconds; loading a serialized database takes
// a few. Databases compiled for the scanning commands are kept in the cache directory, keyed by a
// hash of the rule files' names and contents and of this executable (a rebuilt tool, with perhaps
// another normaliser, never reuses an old entry). The library itself rejects a blob made for
// another engine version or CPU (FailedPrecondition), and a damaged one (DataLoss): both simply
// mean "compile again".
std::string CacheDir() {
  if (const char* off = std::getenv("SCRIPTQA_CACHE"); off != nullptr && std::string_view(off) == "off")
    return "";
  if (const char* dir = std::getenv("SCRIPTQA_CACHE_DIR"); dir != nullptr && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg)
    return std::string(xdg) + "/scriptqa";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home)
    return std::string(home) + "/.cache/scriptqa";
  return "";
}

void Fnv(uint64_t* h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    *h ^= c;
    *h *= 0x100000001b3ULL;
  }
  *h ^= 0xff;  // separator
  *h *= 0x100000001b3ULL;
}

// Keeps the newest entries only (every rebuild of the tool makes new keys).
void PruneCache(const std::string& dir) {
  constexpr size_t kKeep = 8;
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> entries;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("rules-", 0) == 0 && e.path().extension() == ".db")
      entries.emplace_back(e.last_write_time(ec), e.path());
  }
  if (entries.size() <= kKeep) return;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kKeep; i < entries.size(); ++i) std::filesystem::remove(entries[i].second, ec);
}

absl::StatusOr<std::shared_ptr<const Filter>> CompileCached(const std::vector<std::string>& paths,
                                                            const FilterOptions& options) {
  std::string dir = CacheDir();
  struct stat exe;
  if (dir.empty() || stat("/proc/self/exe", &exe) != 0) return Filter::FromFiles(paths, options);
  uint64_t h = 0xcbf29ce484222325ULL;
  Fnv(&h, SCRIPTQA_VERSION);
  Fnv(&h, absl::StrCat(exe.st_size, ".", exe.st_mtim.tv_sec, ".", exe.st_mtim.tv_nsec));
  // The bounds are part of the key: a database compiled with a bound lifted must not be reused by
  // a run that keeps the default bound (it would accept rules that run refuses).
  const CompileLimits& l = options.limits;
  std::string bounds = "limits";
  for (const CompileLimitField& f : kCompileLimitFields) absl::StrAppend(&bounds, " ", l.*f.bound);
  Fnv(&h, bounds);
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream contents;
    contents << in.rdbuf();
    if (!in) return Filter::FromFiles(paths, options);  // let the loader report it
    Fnv(&h, path);
    Fnv(&h, contents.str());
  }
  std::string file = absl::StrFormat("%s/rules-%016x.db", dir, h);
  absl::StatusOr<std::shared_ptr<const Filter>> cached = Filter::LoadFile(file);
  if (cached.ok()) return cached;
  absl::StatusOr<std::shared_ptr<const Filter>> filter = Filter::FromFiles(paths, options);
  if (filter.ok()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!ec) (void)(*filter)->SaveFile(file);  // atomic: concurrent runs never see half a file
    PruneCache(dir);
  }
  return filter;
}

std::vector<std::string> DefaultPackPaths() {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(Filter::DefaultDictionaryDir(), ec))
    if (e.path().extension() == ".rules") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());  // the order Filter::Default() uses
  return paths;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Filter>> LoadRules(const CommonFlags& flags,
                                                        std::string* source, bool use_cache) {
  if (!flags.db.empty()) {
    if (!flags.limits.empty())  // main() rejects the pair; callers building flags may not
      return absl::InvalidArgumentError("--limit applies to compiling rules, not to --db");
    *source = flags.db;
    return Filter::LoadFile(flags.db);
  }
  FilterOptions options;
  absl::StatusOr<CompileLimits> limits = ParseLimits(flags.limits);
  if (!limits.ok())
    return absl::InvalidArgumentError(absl::StrCat("--limit: ", limits.status().message()));
  options.limits = *limits;
  options.limits.raise_hint = "raise it with --limit {name}=N (0 lifts it)";
  std::vector<std::string> paths = flags.rules;
  if (paths.empty()) {
    *source = "default packs (" + Filter::DefaultDictionaryDir() + ")";
    paths = DefaultPackPaths();
    if (paths.empty()) {
      if (!flags.add_rules.empty())
        return absl::NotFoundError(absl::StrCat("--add-rules: no default packs (*.rules) in ",
                                                Filter::DefaultDictionaryDir(), " to add to"));
      return Filter::Default(options);  // reports the missing packs
    }
  } else {
    *source = absl::StrJoin(flags.rules, " ");
  }
  if (!flags.add_rules.empty()) {
    absl::StrAppend(source, " + ", absl::StrJoin(flags.add_rules, " "));
    paths.insert(paths.end(), flags.add_rules.begin(), flags.add_rules.end());
  }
  return use_cache ? CompileCached(paths, options) : Filter::FromFiles(paths, options);
}

std::string VersionText() {
  std::string out = absl::StrCat("scriptqa ", SCRIPTQA_VERSION, "\nlibrary  ", AV(Version()),
                                 "\nengine   ", AV(EngineVersion()), "\npacks    ");
  std::vector<std::string> names;
  for (const std::string& p : DefaultPackPaths())
    names.push_back(std::filesystem::path(p).stem().string());
  std::string source;
  absl::StatusOr<std::shared_ptr<const Filter>> filter =
      LoadRules(CommonFlags{}, &source, /*use_cache=*/true);
  absl::StrAppend(&out, Filter::DefaultDictionaryDir(), ": ",
                  names.empty() ? "none" : absl::StrJoin(names, ", "));
  if (filter.ok()) {
    absl::StrAppendFormat(&out, " (%d rules, hash %016x)", (*filter)->info().rule_count,
                          (*filter)->info().rules_hash);
  } else {
    absl::StrAppend(&out, " (do not load: ", filter.status().message(), ")");
  }
  return out;
}

absl::StatusOr<ScanSetup> MakeScanSetup(const CommonFlags& flags) {
  ScanSetup setup;
  absl::StatusOr<std::shared_ptr<const Filter>> filter = LoadRules(flags, &setup.rules_source, /*use_cache=*/true);
  if (!filter.ok()) return filter.status();
  setup.filter = *std::move(filter);
  absl::StatusOr<Severity> min = SeverityFlag("--min-severity", flags.min_severity);
  if (!min.ok()) return min.status();
  setup.options.min_severity = *min;
  if (flags.fail_on == "none") {
    setup.fail_never = true;
  } else {
    absl::StatusOr<Severity> fail = SeverityFlag("--fail-on", flags.fail_on);
    if (!fail.ok()) return fail.status();
    setup.fail_on = *fail;
  }
  const std::vector<std::string>& known = setup.filter->categories();
  for (const std::string& c : flags.categories) {
    if (std::find(known.begin(), known.end(), c) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--category: unknown category \"", c,
                                                     "\" (known: ", absl::StrJoin(known, ", "),
                                                     ")"));
    }
  }
  ProfileOptions popts;
  if (!flags.profile.empty()) {
    const std::string where = absl::StrCat("--profile ", flags.profile, ": ");
    std::ifstream in(flags.profile, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof())
      return absl::InvalidArgumentError(absl::StrCat(where, "cannot read the file"));
    absl::StatusOr<ProfileOptions> parsed = ProfileOptionsFromJson(text.str(), flags.profile_name);
    if (!parsed.ok()) {
      return absl::Status(parsed.status().code(),
                          absl::StrCat(where, parsed.status().message(),
                                       flags.profile_name.empty() &&
                                               absl::StrContains(parsed.status().message(),
                                                                 "named profiles")
                                           ? " with --profile-name NAME"
                                           : ""));
    }
    popts = *std::move(parsed);
    absl::StrAppend(&setup.rules_source, ", profile ", flags.profile,
                    flags.profile_name.empty() ? "" : " ", flags.profile_name);
  }
  if (!flags.categories.empty()) {
    // --category narrows the profile's categories further.
    std::vector<std::string> enabled;
    for (const std::string& c : flags.categories) {
      if (popts.enabled_categories.empty() ||
          std::find(popts.enabled_categories.begin(), popts.enabled_categories.end(), c) !=
              popts.enabled_categories.end())
        enabled.push_back(c);
    }
    if (enabled.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--category: none of ", absl::StrJoin(flags.categories, ", "),
          " is enabled by the profile (enabled_categories: ",
          absl::StrJoin(popts.enabled_categories, ", "), ")"));
    }
    popts.enabled_categories = std::move(enabled);
  }
  if (!flags.profile.empty() || !flags.categories.empty()) {
    absl::StatusOr<std::shared_ptr<const Profile>> profile =
        Profile::Create(setup.filter, popts);
    if (!profile.ok()) {
      if (flags.profile.empty()) return profile.status();
      return absl::Status(profile.status().code(), absl::StrCat("--profile ", flags.profile, ": ",
                                                                profile.status().message()));
    }
    setup.profile = *std::move(profile);
    setup.options.profile = setup.profile.get();
  }
  setup.mask = !flags.no_mask;
  setup.findings_cover_privacy =
      setup.profile == nullptr && setup.options.min_severity == Severity::kAdvice;
  return setup;
}

// ---- masking ----

std::string Shown(Scanner& scanner, const ScanSetup& setup, std::string_view text,
                  absl::Span<const Finding> findings) {
  if (!setup.mask) return std::string(text);
  if (setup.findings_cover_privacy) return MaskPersonalData(text, findings);
  absl::StatusOr<std::string> masked = scanner.Mask(text);
  // A message the library refuses (too long) still gets the conservative masking.
  return masked.ok() ? *std::move(masked) : MaskPersonalData(text, findings);
}

OwnedFinding Own(const Finding& f, std::string_view shown) {
  OwnedFinding o;
  o.rule = f.rule;
  o.severity = f.severity;
  o.bytes = f.bytes;
  o.chars = f.chars;
  o.matched = f.bytes.end <= shown.size() ? std::string(shown.substr(f.bytes.begin, f.bytes.size()))
                                          : std::string(f.text);
  // Rendered from what is shown, so that a {match} or {masked} template cannot bring back what
  // masking hid.
  if (!f.rule->suggestions.empty()) o.suggestion = RenderSuggestion(f.rule->suggestions[0], o.matched);
  return o;
}

nlohmann::ordered_json FindingJson(const OwnedFinding& f) {
  return nlohmann::ordered_json{
      {"rule", f.rule->id},
      {"category", f.rule->category},
      {"severity", std::string(SeverityName(f.severity))},
      {"byte_start", f.bytes.begin},
      {"byte_end", f.bytes.end},
      {"start", f.chars.begin},
      {"end", f.chars.end},
      {"matched", f.matched},
      {"suggestion", f.suggestion},
      {"reason", f.rule->reason},
  };
}

absl::StatusOr<ScannedMessage> ScanOwned(Scanner& scanner, const ScanSetup& setup,
                                         std::string_view text) {
  absl::StatusOr<std::vector<Finding>> found = scanner.Scan(text, setup.options);
  if (!found.ok()) return found.status();
  ScannedMessage out;
  out.shown = Shown(scanner, setup, text, *found);
  for (const Finding& f : *found) out.findings.push_back(Own(f, out.shown));
  return out;
}

// ---- text output ----

void AppendJsonString(std::string* out, std::string_view s) {
  size_t old = out->size();
  out->resize(old + EscapedBound(s.size()));
  char* end = EscapeJson(out->data() + old, s);
  out->resize(static_cast<size_t>(end - out->data()));
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[20];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

bool UseColor(const std::string& color_flag) {
  if (color_flag == "always") return true;
  if (color_flag == "never") return false;
  const char* term = std::getenv("TERM");
  if (std::getenv("NO_COLOR") != nullptr || (term != nullptr && std::string_view(term) == "dumb"))
    return false;
  return isatty(STDOUT_FILENO) == 1;
}

const char* SeverityColor(Severity s) {
  switch (s) {
    case Severity::kBlock: return "\x1b[1;97;41m";   // bold white on red
    case Severity::kReview: return "\x1b[30;43m";    // black on yellow
    case Severity::kAdvice: return "\x1b[30;46m";    // black on cyan
  }
  return "";
}

namespace {

// Terminal columns of a character, from ICU (East Asian Width W or F: two; nonspacing and
// enclosing marks and format characters: none), as terminals that follow Unicode (UAX #11) show
// them. Control characters are shown as a space. A hand-written table is not needed: ICU is a
// dependency of the library's build already, and a lookup per character is far below the cost of
// writing the character to a terminal.
int CharWidth(uint32_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c > 0x10FFFF) return 1;
  const UChar32 cp = static_cast<UChar32>(c);
  switch (u_charType(cp)) {
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_FORMAT_CHAR:
      return 0;
    default:
      break;
  }
  const int ea = u_getIntPropertyValue(cp, UCHAR_EAST_ASIAN_WIDTH);
  return ea == U_EA_WIDE || ea == U_EA_FULLWIDTH ? 2 : 1;
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  size_t w = 0;
  while (p < end) {
    int len;
    w += CharWidth(DecodeUtf8(p, end, &len));
    p += len;
  }
  return w;
}

std::string Highlight(std::string_view text, const std::vector<OwnedFinding>& findings,
                      bool color) {
  // Highest severity covering each byte; -1 = none.
  std::vector<int8_t> cover(text.size(), -1);
  for (const OwnedFinding& f : findings) {
    for (size_t i = f.bytes.begin; i < f.bytes.end && i < text.size(); ++i)
      cover[i] = std::max<int8_t>(cover[i], static_cast<int8_t>(f.severity));
  }
  std::string line, marks;
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = base + text.size();
  int8_t current = -1;
  for (const unsigned char* p = base; p < end;) {
    int len;
    uint32_t c = DecodeUtf8(p, end, &len);
    int8_t sev = cover[p - base];
    bool control = c < 0x20 || c == 0x7F;
    if (color) {
      if (sev != current) {
        line += kReset;
        if (sev >= 0) line += SeverityColor(static_cast<Severity>(sev));
        current = sev;
      }
      line.append(reinterpret_cast<const char*>(p), len);
    } else {
      if (control) {
        line.push_back(' ');
      } else if (c == kReplacementChar && len != 3) {
        line += "\xEF\xBF\xBD";  // keep the terminal output valid UTF-8
      } else {
        line.append(reinterpret_cast<const char*>(p), len);
      }
      marks.append(CharWidth(c), sev >= 0 ? '^' : ' ');
    }
    p += len;
  }
  if (color) {
    if (current >= 0) line += kReset;
    return line;
  }
  while (!marks.empty() && marks.back() == ' ') marks.pop_back();
  if (marks.empty()) return line;
  return line + "\n" + marks;
}

}  // namespace scriptqa::cli
