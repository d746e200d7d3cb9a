// Shared pieces of the scriptqa command-line tool: choosing rules, scan filters, masking of
// personal data, JSON and terminal rendering of findings. See docs/cli.md for the user's view.
#ifndef SCRIPTQA_TOOLS_CLI_COMMON_H_
#define SCRIPTQA_TOOLS_CLI_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"

namespace CLI {
class App;
}

namespace scriptqa::cli {

// Documented exit codes (docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,        // nothing at or above --fail-on
  kExitFindings = 1,  // findings at or above --fail-on (lint: problems found)
  kExitUsage = 2,     // usage, rule or input error
};

// Flags shared by the scanning subcommands: which rules, which findings, how to print.
struct CommonFlags {
  std::vector<std::string> rules;  // --rules FILE (repeatable); empty: the default packs
  std::vector<std::string> add_rules;  // --add-rules FILE (repeatable): added to the above
  std::string db;                  // --db FILE (serialized database)
  std::string profile;             // --profile FILE: JSON profile (scriptqa/scanner.h)
  std::string profile_name;        // --profile-name NAME: one of the file's named profiles
  std::string min_severity = "advice";
  std::vector<std::string> categories;  // empty: all
  std::string fail_on = "block";        // block|review|advice|none
  std::string color = "auto";           // auto|always|never
  bool json = false;
  bool no_mask = false;
  // --limit NAME=N (repeatable; the last one of a name wins): compile-time bounds on the rule
  // files (scriptqa::CompileLimits), validated when parsed. Empty: the library's defaults.
  std::vector<std::string> limits;
};

// Adds the flags above to a subcommand. `scan` adds the filter/output ones too.
enum class FlagSet : uint8_t { kRulesOnly, kScan };
void AddCommonFlags(CLI::App* app, CommonFlags* flags, FlagSet set);

// The compile-time bounds --limit asks for: the library's defaults (CompileLimits{}) with each
// "NAME=N" applied in order. NAME is max_regex_bytes, max_regexes, max_total_regex_bytes or
// max_literals; N a non-negative decimal integer, 0 lifting the bound. A bad argument gives
// InvalidArgument naming the accepted names.
absl::StatusOr<CompileLimits> ParseLimits(const std::vector<std::string>& args);

// A filter plus the scan options the flags ask for. The profile (category filter) lives here.
struct ScanSetup {
  std::shared_ptr<const Filter> filter;
  std::shared_ptr<const Profile> profile;
  ScanOptions options;
  Severity fail_on = Severity::kBlock;
  bool fail_never = false;  // --fail-on none
  bool mask = true;
  // Whether the findings under `options` include every privacy finding (no category filter, no
  // threshold): then masking needs no scan of its own.
  bool findings_cover_privacy = true;
  std::string rules_source;  // "default packs", the files, or the database, for reports

  // Whether a finding of this severity makes the command exit 1.
  bool Fails(Severity s) const { return !fail_never && s >= fail_on; }
};

// The --version text: the tool's, the library's and the engine's versions, and the default packs
// (their directory, names, rule count and rules hash, as `scriptqa compile` reports it).
std::string VersionText();

// Loads the rules (--rules / --add-rules / --db / default), the profile (--profile, --category)
// and validates the filter flags. Errors are ready to
// print and mean exit code 2.
absl::StatusOr<ScanSetup> MakeScanSetup(const CommonFlags& flags);
// Compiles the rule files (or the default packs) within the --limit bounds, or loads --db.
// `use_cache`: keep compiled rule files in the cache directory ($SCRIPTQA_CACHE_DIR, else
// $XDG_CACHE_HOME/scriptqa or ~/.cache/scriptqa; SCRIPTQA_CACHE=off disables it), keyed by the
// files and the bounds too. Each problem past a bound ends with "; raise it with --limit NAME=N
// (0 lifts it)" (CompileLimits::raise_hint).
absl::StatusOr<std::shared_ptr<const Filter>> LoadRules(const CommonFlags& flags,
                                                        std::string* source, bool use_cache);

// ---- personal data masking ----
// Shared outputs (everything the tool prints or writes) mask personal data unless --no-mask is
// given: scriptqa::Scanner::Mask and scriptqa/mask.h. Masking keeps byte and character offsets.

// The message as outputs show it: `text` itself with --no-mask, else masked. `findings` are the
// message's findings under setup.options; when the setup may hide privacy findings (a category
// filter or a threshold), the scanner looks for them itself. Must not be called from inside a
// scan callback of the same scanner.
std::string Shown(Scanner& scanner, const ScanSetup& setup, std::string_view text,
                  absl::Span<const Finding> findings);

// ---- findings that outlive the scan callback ----
struct OwnedFinding {
  const Rule* rule = nullptr;
  Severity severity = Severity::kReview;
  Span bytes;
  Span chars;
  std::string matched;     // the matched text as `shown` has it (masked unless --no-mask)
  std::string suggestion;  // first suggestion, rendered from `matched`
};
// `shown` is the whole message as outputs show it (Shown()); it has the message's offsets.
OwnedFinding Own(const Finding& f, std::string_view shown);
// {"rule","category","severity","byte_start","byte_end","start","end","matched","suggestion",
//  "reason"} — the field names of tests/testdata/golden.jsonl, plus the reason.
nlohmann::ordered_json FindingJson(const OwnedFinding& f);

// One message scanned with the setup: the message as shown and its owned findings.
struct ScannedMessage {
  std::string shown;
  std::vector<OwnedFinding> findings;
};
absl::StatusOr<ScannedMessage> ScanOwned(Scanner& scanner, const ScanSetup& setup,
                                         std::string_view text);

// ---- text output ----
// Appends `s` as a JSON string literal, escaped as nlohmann::json dump() does (jsonout.h). `s`
// must be valid UTF-8 (the audit repairs first).
void AppendJsonString(std::string* out, std::string_view s);
void AppendUint(std::string* out, uint64_t v);

// Whether to colour stdout: --color=always, or auto and stdout is a terminal (and TERM != dumb,
// NO_COLOR unset).
bool UseColor(const std::string& color_flag);
// ANSI colour of a severity (background for highlights).
const char* SeverityColor(Severity s);
inline constexpr const char* kReset = "\x1b[0m";
// The message with the findings' spans highlighted (colour) — or, without colour, the message and
// a line of '^' under the spans (East Asian wide characters count two columns).
std::string Highlight(std::string_view text, const std::vector<OwnedFinding>& findings,
                      bool color);
// Terminal columns of a UTF-8 string (wide CJK = 2).
size_t DisplayWidth(std::string_view s);

// Debian's Abseil has its own string_view type: convert at the boundary.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Severity from a flag value, with a usage error naming the flag.
absl::StatusOr<Severity> SeverityFlag(std::string_view flag, std::string_view value);

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_COMMON_H_
