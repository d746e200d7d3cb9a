#include "audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "input.h"
#include "jsonout.h"
#include "report.h"
#include "scriptqa/conversation.h"
#include "simdjson.h"
#include "utf8util.h"

namespace scriptqa::cli {

using namespace std::string_view_literals;

// ---- flags ----

void AddAuditFlags(CLI::App* app, AuditConfig* c) {
  app->add_option("inputs", c->inputs,
                  "Transcript files (JSONL or CSV, optionally .gz); - reads standard input")
      ->type_name("FILE...")
      ->required();
  app->add_option("--format", c->format, "Input format (auto: .csv/.csv.gz are CSV, else JSONL)")
      ->type_name("auto|jsonl|csv")
      ->check(CLI::IsMember({"auto", "jsonl", "csv"}))
      ->capture_default_str();
  app->add_option("--out,-o", c->out_dir, "Directory for findings.jsonl, summary.json, report.html")
      ->type_name("DIR")
      ->capture_default_str();
  app->add_option("--findings", c->findings_path, "Findings JSONL path (- = standard output)")
      ->type_name("FILE");
  app->add_option("--summary", c->summary_path, "Summary JSON path")->type_name("FILE");
  app->add_option("--report", c->report_path, "HTML report path")->type_name("FILE");
  auto field = [&](const char* flag, std::string* v, const char* what) {
    app->add_option(flag, *v, what)->type_name("NAME")->capture_default_str();
  };
  field("--conversation-field", &c->fields.conversation_id, "Field with the conversation id");
  field("--turn-field", &c->fields.turn, "Field with the turn number (optional)");
  field("--role-field", &c->fields.role, "Field with the speaker role");
  field("--text-field", &c->fields.text, "Field with the message text");
  field("--timestamp-field", &c->fields.timestamp,
        "Field with the time (ISO 8601 or epoch seconds/millis; optional)");
  field("--agent-field", &c->fields.agent_id, "Field with the agent id (optional)");
  field("--shop-field", &c->fields.shop_id, "Field with the shop id (optional)");
  app->add_option("--agent-role", c->agent_roles,
                  "Role values of agent messages (scanned); repeatable or comma-separated")
      ->type_name("ROLE")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  app->add_option("--customer-role", c->customer_roles,
                  "Role values of customer messages (used for response times)")
      ->type_name("ROLE")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  app->add_option("--threads,-j", c->threads, "Worker threads (0 = hardware threads, at most 256)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  // A time limit is a finite number of seconds above 0 ("nan", "inf" and negatives are refused:
  // every comparison with them would pass or fail silently).
  const CLI::Validator seconds(
      [](std::string& arg) -> std::string {
        char* end = nullptr;
        double v = std::strtod(arg.c_str(), &end);
        if (end == arg.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 31536000)
          return "expected a number of seconds above 0 (at most a year), got \"" + arg + "\"";
        return "";
      },
      "SECONDS");
  app->add_option("--scorecard", c->scorecard,
                  "Scorecard of the conversation checks (default: dictionaries/default.scorecard)")
      ->type_name("FILE");
  app->add_option("--timezone", c->timezone,
                  "Zone of timestamps without an offset, and of days (UTC, +08:00, Asia/Shanghai)")
      ->type_name("ZONE")
      ->capture_default_str();
  app->add_option("--conversations", c->conversations_path,
                  "Conversation scores JSONL path (default DIR/conversations.jsonl)")
      ->type_name("FILE");
  app->add_option("--first-response-limit", c->first_response_s,
                  "First agent response limit, seconds (default: the scorecard's, 30)")
      ->check(seconds);
  app->add_option("--reply-limit", c->reply_s,
                  "Limit for each later reply, seconds (default: the scorecard's, 120)")
      ->check(seconds);
  app->add_option("--promo-reply-limit", c->promo_reply_s,
                  "Reply limit in promotion periods, seconds (default: the scorecard's, 180)")
      ->check(seconds);
  app->add_flag("--promo", c->promo,
                "The whole input is a big-promotion period: the promotion reply limit applies");
  app->add_option("--max-record-bytes", c->max_record_bytes,
                  "Longer records are reported as errors and skipped (1 KiB to 1 GiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  app->add_option("--progress", c->progress, "Progress bar on standard error")
      ->type_name("auto|always|never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app->add_flag("--quiet,-q", c->quiet, "No summary on the terminal");
  app->add_flag("--strict", c->strict, "Exit 2 when any record is malformed");
  app->add_option("--examples-per-rule", c->examples_per_rule, "Examples per rule in the report")
      ->capture_default_str();
}

// ---- counters ----

void AgentStats::Merge(const AgentStats& o) {
  messages += o.messages;
  flagged += o.flagged;
  findings += o.findings;
  if (by_category.size() < o.by_category.size()) by_category.resize(o.by_category.size());
  for (size_t i = 0; i < o.by_category.size(); ++i) by_category[i] += o.by_category[i];
  serious += o.serious;
}

void Counts::Init(size_t categories, size_t rules) {
  by_category.assign(categories, {});
  by_rule.assign(rules, 0);
}

void Counts::Merge(const Counts& o) {
  records += o.records;
  errors += o.errors;
  warnings += o.warnings;
  invalid_utf8 += o.invalid_utf8;
  for (const auto& [role, n] : o.roles) {
    auto it = roles.find(role);
    if (it != roles.end()) {
      it->second += n;
    } else if (roles.size() < kMaxRoleValues) {
      roles.emplace(role, n);
    }
  }
  agent_messages += o.agent_messages;
  customer_messages += o.customer_messages;
  other_messages += o.other_messages;
  flagged += o.flagged;
  serious += o.serious;
  findings += o.findings;
  with_time += o.with_time;
  failing += o.failing;
  for (size_t i = 0; i < 3; ++i) by_severity[i] += o.by_severity[i];
  for (size_t i = 0; i < by_category.size() && i < o.by_category.size(); ++i)
    for (size_t s = 0; s < 3; ++s) by_category[i][s] += o.by_category[i][s];
  for (size_t i = 0; i < by_rule.size() && i < o.by_rule.size(); ++i) by_rule[i] += o.by_rule[i];
  for (const auto& [name, a] : o.agents) agents[name].Merge(a);
}

namespace {

constexpr size_t kMaxStoredErrors = 200;
constexpr size_t kMaxPrintedErrors = 20;
constexpr char kUnknownAgent[] = "(unknown)";

// Role values are compared without regard to ASCII case and surrounding blanks ("Agent " is an
// agent).
bool SameRole(std::string_view value, std::string_view role) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(AV(value)),
                                absl::StripAsciiWhitespace(AV(role)));
}

enum class Kind : uint8_t { kError, kAgent, kCustomer, kOther };

struct Batch {
  uint64_t seq = 0;
  uint32_t input = 0;
  InputFormat format = InputFormat::kJsonl;
  std::shared_ptr<const std::vector<int>> columns;  // CSV: column of each field, -1 if absent
  Chunk chunk;
  // Results, filled by a worker.
  OutBuffer out;
  // The chunk's agent and customer messages, analysed (scriptqa/conversation.h), with their
  // conversation ids (spans of conv_arena), for the ordered stage.
  std::vector<Turn> turns;
  std::vector<std::pair<uint32_t, uint32_t>> turn_conv;
  OutBuffer conv_arena;
  Counts counts;
  std::vector<InputError> errors;
  std::vector<Example> examples;
  bool done = false;
};

// Equality of short strings (keys, roles, conversation and agent ids) without a library call:
// eight bytes at a time, the last word overlapping.
__attribute__((always_inline)) inline bool SameBytesOfSize(const char* x, const char* y, size_t n) {
  if (n >= 8) {
    uint64_t diff = 0;
    for (size_t i = 0; i + 8 < n; i += 8) {
      uint64_t u, v;
      memcpy(&u, x + i, 8);
      memcpy(&v, y + i, 8);
      diff |= u ^ v;
    }
    uint64_t u, v;
    memcpy(&u, x + n - 8, 8);
    memcpy(&v, y + n - 8, 8);
    return (diff | (u ^ v)) == 0;
  }
  if (n >= 4) {
    uint32_t u0, u1, v0, v1;
    memcpy(&u0, x, 4);
    memcpy(&u1, x + n - 4, 4);
    memcpy(&v0, y, 4);
    memcpy(&v1, y + n - 4, 4);
    return ((u0 ^ v0) | (u1 ^ v1)) == 0;
  }
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

// The size test inline at every call (most keys differ in size); the bytes only then.
__attribute__((always_inline)) inline bool SameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && SameBytesOfSize(a.data(), b.data(), a.size());
}

// Field positions in a CSV header / keys in a JSON object.
enum Field : int { kConv, kTurn, kRole, kText, kTime, kAgent, kShop, kFieldCount };

struct Shared {
  const ScanSetup* setup;
  const AuditConfig* config;
  std::vector<std::string> file_json;  // each input's display name as a JSON string
  std::array<std::string_view, kFieldCount> names;
  std::vector<std::string_view> agent_roles, customer_roles;  // the config's
  std::vector<uint32_t> rule_category;  // rule index -> category index
  // A finding's JSON (FindingJson's fields and escaping) around its per-finding parts, per rule:
  // {"rule":…,"category":…,"severity":"  and  ,"reason":…}
  std::vector<std::string> finding_head, finding_tail;
  absl::TimeZone zone;  // of timestamps without an offset (--timezone)
};

// One worker: its scanner, cue analyzer and parser, reused for every record.
class Worker {
 public:
  Worker(const Shared& shared, Scanner scanner, TurnAnalyzer analyzer)
      : sh_(shared), scanner_(std::move(scanner)), analyzer_(std::move(analyzer)) {}

  void Process(Batch* b) {
    b_ = b;
    b->out.clear();
    b->out.reserve(b->chunk.data.size() + b->chunk.data.size() / 4 + 256);
    b->turns.clear();
    b->turn_conv.clear();
    b->conv_arena.clear();
    b->errors.clear();
    b->examples.clear();
    b->counts = Counts();
    b->counts.Init(CategoryCount(), sh_.rule_category.size());
    example_count_.assign(sh_.rule_category.size(), 0);
    last_agent_ = nullptr;
    has_last_role_ = false;
    last_role_count_ = nullptr;
    staged_.clear();
    stash_.clear();
    if (b->chunk.oversized) {
      line_ = b->chunk.first_line;
      TooLong();
    } else if (b->chunk.truncated) {
      line_ = b->chunk.first_line;
      Error("incomplete record: the input ends inside it (a read or decompression error, "
            "reported for the input); not scanned");
    } else if (b->format == InputFormat::kJsonl) {
      ProcessJsonl();
    } else {
      ProcessCsv();
    }
    Flush();
    b_ = nullptr;
  }

 private:
  size_t CategoryCount() const { return sh_.setup->filter->categories().size(); }

  // ---- record boundaries ----
  void ProcessJsonl() {
    const std::string& data = b_->chunk.data;
    line_ = b_->chunk.first_line;
    size_t p = 0;
    while (p < data.size()) {
      const char* nl = static_cast<const char*>(memchr(data.data() + p, '\n', data.size() - p));
      size_t end = nl == nullptr ? data.size() : nl - data.data();
      size_t len = end - p;
      if (len > 0 && data[end - 1] == '\r') --len;
      JsonRecord(data.data() + p, len);
      ++line_;
      p = end + 1;
    }
  }

  void ProcessCsv() {
    const std::string& data = b_->chunk.data;
    line_ = b_->chunk.first_line;
    size_t p = 0;
    const std::vector<int>& cols = *b_->columns;
    while (p < data.size()) {
      size_t start = p;
      size_t count = 0;
      std::string error;
      bool ok = ParseCsvRecord(data, &p, &fields_, &count, &error);
      size_t lines = std::count(data.begin() + start, data.begin() + p, '\n');
      std::string_view raw(data.data() + start, p - start);
      if (raw.size() > sh_.config->max_record_bytes) {
        TooLong();
      } else if (raw.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        Error("empty line");
      } else if (!ok) {
        Error(absl::StrCat("malformed CSV: ", error));
      } else {
        Rec r;
        bool repaired = !simdjson::validate_utf8(raw.data(), raw.size());
        std::array<std::string_view, kFieldCount> v{};
        std::array<bool, kFieldCount> has{};
        for (int f = 0; f < kFieldCount; ++f) {
          int c = cols[f];
          if (c < 0 || static_cast<size_t>(c) >= count) continue;
          if (repaired) {
            repair_[f].clear();
            AppendRepairedUtf8(fields_[c], &repair_[f]);
            v[f] = repair_[f];
          } else {
            v[f] = fields_[c];
          }
          has[f] = !v[f].empty() || f == kText;
        }
        if (repaired) r.warnings.push_back("invalid UTF-8 repaired (U+FFFD)");
        r.invalid_utf8 = repaired;
        const char* missing = nullptr;
        for (int f : {kConv, kRole, kText})
          if (!has[f] && missing == nullptr) missing = FieldName(f);
        if (missing != nullptr) {
          Error(absl::StrCat("missing field \"", missing, "\""));
        } else {
          r.conv = v[kConv];
          r.role = v[kRole];
          r.text = v[kText];
          r.agent = v[kAgent];
          r.shop = v[kShop];
          if (has[kTurn]) {
            r.has_turn = true;
            r.turn_str = v[kTurn];
            r.turn_is_int = v[kTurn].find_first_not_of("0123456789") == std::string_view::npos &&
                            v[kTurn].size() < 18;
            if (r.turn_is_int) r.turn_int = std::stoll(std::string(v[kTurn]));
          }
          if (has[kTime]) {
            absl::StatusOr<int64_t> t = ParseTimestamp(v[kTime], sh_.zone);
            if (t.ok()) {
              r.time_ms = *t;
            } else {
              r.warnings.push_back(absl::StrCat("unreadable timestamp \"", AV(v[kTime]), "\""));
            }
          }
          Emit(r);
        }
      }
      line_ += std::max<size_t>(lines, 1);
    }
  }

  static bool Blank(std::string_view s) {
    for (char c : s)
      if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
  }

  void TooLong() {
    Error(absl::StrCat("record longer than --max-record-bytes (", sh_.config->max_record_bytes,
                       " bytes); skipped"));
  }

  const char* FieldName(int f) const { return sh_.names[f].data(); }

  // ---- JSON ----
  struct Rec {
    std::string_view conv, role, text, agent, shop;
    bool has_turn = false, turn_is_int = false;
    int64_t turn_int = 0;
    std::string_view turn_str;
    int64_t time_ms = kNoTime;
    std::vector<std::string> warnings;
    bool invalid_utf8 = false;
  };

  void JsonRecord(const char* p, size_t len) {
    if (len > sh_.config->max_record_bytes) {
      TooLong();
      return;
    }
    std::string_view line(p, len);
    if (line.empty() || (line[0] != '{' && Blank(line))) {
      Error("empty line");
      return;
    }
    simdjson::dom::element doc;
    simdjson::error_code err = parser_.parse(p, len, /*realloc_if_needed=*/false).get(doc);
    bool repaired = false;
    if (err == simdjson::UTF8_ERROR) {
      // Scan it anyway: repair each invalid sequence to U+FFFD (character offsets are those the
      // library reports for the raw bytes) and parse again.
      repaired_line_.clear();
      AppendRepairedUtf8(line, &repaired_line_);
      repaired_line_.reserve(repaired_line_.size() + simdjson::SIMDJSON_PADDING);
      err = parser_.parse(repaired_line_.data(), repaired_line_.size(), false).get(doc);
      repaired = true;
    }
    if (err) {
      Error(absl::StrCat("invalid JSON: ", simdjson::error_message(err)));
      return;
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) {
      Error("not a JSON object");
      return;
    }
    Rec r;
    if (repaired) r.warnings.push_back("invalid UTF-8 repaired (U+FFFD)");
    r.invalid_utf8 = repaired;
    std::array<bool, kFieldCount> has{};
    for (simdjson::dom::key_value_pair kv : obj) {
      int f = 0;
      while (f < kFieldCount && !SameBytes(kv.key, sh_.names[f])) ++f;
      if (f == kFieldCount || has[f]) continue;
      simdjson::dom::element v = kv.value;
      if (v.is_null()) continue;
      std::string_view s;
      bool is_string = v.get_string().get(s) == simdjson::SUCCESS;
      switch (f) {
        case kText:
        case kRole:
          if (!is_string) {
            Error(absl::StrCat("field \"", FieldName(f), "\" is not a string"));
            return;
          }
          (f == kText ? r.text : r.role) = s;
          break;
        case kConv:
        case kAgent:
        case kShop: {
          std::string_view* dst = f == kConv ? &r.conv : f == kAgent ? &r.agent : &r.shop;
          if (is_string) {
            *dst = s;
          } else if (v.is_int64() || v.is_uint64()) {
            number_[f] = simdjson::minify(v);
            *dst = number_[f];
          } else {
            Error(absl::StrCat("field \"", FieldName(f), "\" is not a string or an integer"));
            return;
          }
          break;
        }
        case kTurn:
          if (is_string) {
            r.turn_str = s;
          } else if (v.get_int64().get(r.turn_int) == simdjson::SUCCESS) {
            r.turn_is_int = true;
          } else {
            r.warnings.push_back("field \"" + std::string(FieldName(f)) + "\" ignored: not an integer");
            continue;
          }
          r.has_turn = true;
          break;
        case kTime: {
          double d;
          absl::StatusOr<int64_t> t = absl::InvalidArgumentError("");
          if (is_string) {
            t = ParseTimestamp(s, sh_.zone);
          } else if (v.get_double().get(d) == simdjson::SUCCESS) {
            t = EpochToMillis(d);
          }
          if (t.ok()) {
            r.time_ms = *t;
          } else {
            r.warnings.push_back(absl::StrCat("unreadable timestamp ", simdjson::minify(v)));
          }
          break;
        }
      }
      has[f] = true;
    }
    for (int f : {kConv, kRole, kText}) {
      if (!has[f]) {
        Error(absl::StrCat("missing field \"", FieldName(f), "\""));
        return;
      }
    }
    Emit(r);
  }

  // ---- output ----
  // FindingJson(f).dump(), without building the JSON object.
  void AppendFinding(const OwnedFinding& f) {
    OutBuffer& o = b_->out;
    o += sh_.finding_head[f.rule->index];
    o += SeverityName(f.severity);
    o.Lit("\",\"byte_start\":");
    o.AppendUint(f.bytes.begin);
    o.Lit(",\"byte_end\":");
    o.AppendUint(f.bytes.end);
    o.Lit(",\"start\":");
    o.AppendUint(f.chars.begin);
    o.Lit(",\"end\":");
    o.AppendUint(f.chars.end);
    o.Lit(",\"matched\":");
    o.AppendJson(f.matched);
    o.Lit(",\"suggestion\":");
    o.AppendJson(f.suggestion);
    o += sh_.finding_tail[f.rule->index];
  }

  void Begin() {
    OutBuffer& o = b_->out;
    o.Lit("{\"file\":");
    o += sh_.file_json[b_->input];
    o.Lit(",\"line\":");
    o.AppendUint(line_);
  }

  // ---- staging: the chunk is parsed first, then scanned, then written ----
  // A record's strings are copied into stash_ (the parser's views last only until the next
  // record); offsets, because stash_ grows.
  struct Str {
    size_t off = 0, len = 0;
  };
  struct Staged {
    uint64_t line = 0;
    Kind kind = Kind::kError;  // kError: `error` holds the message
    Str conv, role, text, agent, shop, turn_str, warning, error;
    bool has_turn = false, turn_is_int = false;
    int64_t turn_int = 0;
    int64_t time_ms = kNoTime;
  };

  Str Keep(std::string_view v) {
    Str x{stash_.size(), v.size()};
    stash_ += v;
    return x;
  }
  std::string_view View(Str x) const { return std::string_view(stash_.data() + x.off, x.len); }

  void Error(std::string_view message) {
    Staged st;
    st.line = line_;
    st.error = Keep(message);
    staged_.push_back(st);
  }

  void Emit(Rec& r) {
    Staged st;
    st.line = line_;
    st.kind = Kind::kOther;
    for (std::string_view role : sh_.agent_roles)
      if (SameRole(r.role, role)) st.kind = Kind::kAgent;
    if (st.kind == Kind::kOther)
      for (std::string_view role : sh_.customer_roles)
        if (SameRole(r.role, role)) st.kind = Kind::kCustomer;
    if (!has_last_role_ || !SameBytes(r.role, last_role_)) {  // runs of one role are common
      auto& roles = b_->counts.roles;
      auto it = roles.find(AV(r.role));
      if (it != roles.end()) {
        last_role_count_ = &it->second;
      } else if (roles.size() < Counts::kMaxRoleValues) {
        last_role_count_ = &roles.emplace(std::string(r.role), 0).first->second;
      } else {
        last_role_count_ = nullptr;
      }
      last_role_.assign(r.role);
      has_last_role_ = true;
    }
    if (last_role_count_ != nullptr) ++*last_role_count_;
    if (r.invalid_utf8) ++b_->counts.invalid_utf8;
    st.conv = Keep(r.conv);
    st.role = Keep(r.role);
    st.text = Keep(r.text);
    st.agent = Keep(r.agent);
    st.shop = Keep(r.shop);
    st.turn_str = Keep(r.turn_str);
    st.has_turn = r.has_turn;
    st.turn_is_int = r.turn_is_int;
    st.turn_int = r.turn_int;
    st.time_ms = r.time_ms;
    if (!r.warnings.empty()) st.warning = Keep(absl::StrJoin(r.warnings, "; "));
    staged_.push_back(st);
  }

  // Scans the chunk's agent messages in one Scanner::ScanBatch call (the engine runs once per
  // 64 KiB of messages instead of once per message) and writes every staged record in order.
  // Masking may scan a message again (Shown), which cannot happen inside the batch's callback:
  // the callback keeps the findings, and the records are written after the call.
  void Flush() {
    const ScanOptions& options = sh_.setup->options;
    texts_.clear();
    agent_at_.clear();
    for (size_t i = 0; i < staged_.size(); ++i) {
      if (staged_[i].kind != Kind::kAgent) continue;
      texts_.push_back(View(staged_[i].text));
      agent_at_.push_back(i);
    }
    if (found_.size() < texts_.size()) found_.resize(texts_.size());
    statuses_.assign(texts_.size(), absl::OkStatus());
    for (size_t k = 0; k < texts_.size(); ++k) found_[k].clear();
    absl::Status batch = scanner_.ScanBatch(
        texts_, options,
        [&](size_t k, const absl::Status& status, absl::Span<const Finding> found) {
          statuses_[k] = status;
          found_[k].assign(found.begin(), found.end());
        });
    if (!batch.ok()) {
      // The call failed as a whole (not expected: the scanner is this worker's, the options are
      // fixed): every message is scanned on its own, with its own status.
      for (size_t k = 0; k < texts_.size(); ++k) {
        found_[k].clear();
        statuses_[k] = scanner_.Scan(texts_[k], options, [&](const Finding& f) {
          found_[k].push_back(f);
          return ScanControl::kContinue;
        });
      }
    }
    Analyze();
    size_t k = 0;
    for (size_t i = 0; i < staged_.size(); ++i) {
      findings_.clear();
      if (k < agent_at_.size() && agent_at_[k] == i) {
        // Only a message with findings is written with its text: only it needs masking.
        if (!found_[k].empty()) {
          shown_ = Shown(scanner_, *sh_.setup, texts_[k], found_[k]);
          for (const Finding& f : found_[k]) findings_.push_back(Own(f, shown_));
        }
        Write(staged_[i], statuses_[k]);
        ++k;
      } else {
        Write(staged_[i], absl::OkStatus());
      }
    }
  }

  // The chunk's agent and customer messages read for the conversation checks (the library's
  // TurnAnalyzer, one cue-engine pass for the chunk), with the findings just reported.
  void Analyze() {
    messages_.clear();
    size_t k = 0;
    for (size_t i = 0; i < staged_.size(); ++i) {
      const Staged& st = staged_[i];
      bool agent = k < agent_at_.size() && agent_at_[k] == i;
      if (st.kind != Kind::kAgent && st.kind != Kind::kCustomer) continue;
      Message m;
      m.role = agent ? Role::kAgent : Role::kCustomer;
      m.text = View(st.text);
      m.time_ms = st.time_ms;
      m.number = st.has_turn && st.turn_is_int ? st.turn_int : kNoTurnNumber;
      m.agent = View(st.agent);
      m.shop = View(st.shop);
      if (agent) m.findings = found_[k++];
      messages_.push_back(m);
      std::string_view conv = View(st.conv);
      b_->turn_conv.emplace_back(static_cast<uint32_t>(b_->conv_arena.size()), static_cast<uint32_t>(conv.size()));
      b_->conv_arena += conv;
    }
    b_->turns.resize(messages_.size());
    if (!analyzer_.AnalyzeBatch(messages_, absl::MakeSpan(b_->turns)).ok()) {
      // Not expected (the analyzer is this worker's): each message on its own.
      for (size_t i = 0; i < messages_.size(); ++i)
        if (!analyzer_.Analyze(messages_[i], &b_->turns[i]).ok()) {
          b_->turns[i] = Turn();
          b_->turns[i].role = messages_[i].role;
        }
    }
  }

  void Write(const Staged& st, const absl::Status& scan_status) {
    line_ = st.line;
    if (st.kind == Kind::kError) {
      WriteError(View(st.error));
    } else {
      WriteRecord(st, scan_status);
    }
  }

  void WriteError(std::string_view message) {
    Begin();
    OutBuffer& o = b_->out;
    o.Lit(",\"error\":");
    o.AppendJson(message);
    o.Lit("}\n");
    ++b_->counts.records;
    ++b_->counts.errors;
    b_->errors.push_back(InputError{b_->input, line_, std::string(message)});
  }

  // The batch's counters of an agent; consecutive messages are usually by the same agent.
  AgentStats& AgentFor(std::string_view agent) {
    if (last_agent_ != nullptr && SameBytes(agent, last_agent_name_)) return *last_agent_;
    Counts& c = b_->counts;
    auto it = c.agents.find(AV(agent));
    if (it == c.agents.end()) {
      it = c.agents.emplace(std::string(agent), AgentStats{}).first;
      it->second.by_category.assign(CategoryCount(), 0);
    }
    last_agent_ = &it->second;  // valid until the next insertion, which replaces it
    last_agent_name_.assign(agent);
    return *last_agent_;
  }

  // One record with the findings of its scan in findings_.
  void WriteRecord(const Staged& st, const absl::Status& scan_status) {
    const ScanSetup& setup = *sh_.setup;
    const AuditConfig& cfg = *sh_.config;
    Counts& c = b_->counts;
    ++c.records;
    Kind kind = st.kind;
    const std::string_view conv = View(st.conv), role = View(st.role), agent_id = View(st.agent), shop = View(st.shop),
                           turn_str = View(st.turn_str);
    c.warnings += st.warning.len > 0;
    std::string warning;  // rare: built only when there is one
    if (st.warning.len > 0 || !scan_status.ok()) {
      warning.assign(View(st.warning));
      if (!scan_status.ok())
        absl::StrAppend(&warning, warning.empty() ? "" : "; ", "not scanned: ",
                        scan_status.message());
    }

    // Everything up to the findings in one claim: 160 bytes cover the keys, the line number, the
    // turn and the time.
    OutBuffer& o = b_->out;
    const std::string& file_json = sh_.file_json[b_->input];
    size_t bound = 160 + file_json.size() + EscapedBound(conv.size()) +
                   EscapedBound(turn_str.size()) + EscapedBound(role.size()) +
                   EscapedBound(agent_id.size()) + EscapedBound(shop.size());
    JsonCursor w{o.Claim(bound)};
    w.Lit("{\"file\":");
    w.Raw(file_json);
    w.Lit(",\"line\":");
    w.Uint(line_);
    w.Lit(",\"conversation_id\":");
    w.Json(conv);
    if (st.has_turn) {
      w.Lit(",\"turn\":");
      if (st.turn_is_int) {
        w.Int(st.turn_int);
      } else {
        w.Json(turn_str);
      }
    }
    w.Lit(",\"role\":");
    w.Json(role);
    if (!agent_id.empty()) {
      w.Lit(",\"agent_id\":");
      w.Json(agent_id);
    }
    if (!shop.empty()) {
      w.Lit(",\"shop_id\":");
      w.Json(shop);
    }
    if (st.time_ms != kNoTime) {
      w.Lit(",\"time_ms\":");
      w.Int(st.time_ms);
      ++c.with_time;
    }
    o.Commit(w.p);

    if (kind == Kind::kAgent)
      o.Lit(",\"scanned\":true,\"findings\":[");
    else
      o.Lit(",\"scanned\":false,\"findings\":[");
    for (size_t i = 0; i < findings_.size(); ++i) {
      if (i > 0) o.push_back(',');
      AppendFinding(findings_[i]);
    }
    o.push_back(']');
    std::string masked;
    if (!findings_.empty()) {
      masked = shown_;  // set by Flush with the findings
      o.Lit(",\"text\":");
      o.AppendJson(masked);
    }
    if (!warning.empty()) {
      o.Lit(",\"warning\":");
      o.AppendJson(warning);
      b_->errors.push_back(InputError{b_->input, line_, "warning: " + warning});
    }
    o.Lit("}\n");

    // Counters.
    if (kind == Kind::kAgent) {
      ++c.agent_messages;
      std::string_view agent = agent_id.empty() ? std::string_view(kUnknownAgent) : agent_id;
      AgentStats& a = AgentFor(agent);
      ++a.messages;
      if (!findings_.empty()) {
        ++c.flagged;
        ++a.flagged;
        bool serious = false;
        for (const OwnedFinding& f : findings_) serious = serious || f.severity >= Severity::kReview;
        c.serious += serious;
        a.serious += serious;
        bool want_example = false;
        for (const OwnedFinding& f : findings_) {
          uint32_t cat = sh_.rule_category[f.rule->index];
          size_t sev = static_cast<size_t>(f.severity);
          ++c.findings;
          ++a.findings;
          ++c.by_severity[sev];
          ++c.by_category[cat][sev];
          ++c.by_rule[f.rule->index];
          ++a.by_category[cat];
          c.failing += setup.Fails(f.severity);
          if (example_count_[f.rule->index] < cfg.examples_per_rule) want_example = true;
        }
        if (want_example) {
          for (const OwnedFinding& f : findings_) ++example_count_[f.rule->index];
          b_->examples.push_back(Example{b_->input, line_, std::string(conv),
                                         std::string(agent), std::move(masked), findings_});
        }
      }
    } else if (kind == Kind::kCustomer) {
      ++c.customer_messages;
    } else {
      ++c.other_messages;
    }
  }

  const Shared& sh_;
  Scanner scanner_;
  TurnAnalyzer analyzer_;
  std::vector<Message> messages_;  // the chunk's agent and customer messages, for analyzer_
  simdjson::dom::parser parser_;
  Batch* b_ = nullptr;
  uint64_t line_ = 0;
  std::vector<OwnedFinding> findings_;
  std::string shown_;  // the message of findings_, masked unless --no-mask
  std::vector<std::vector<Finding>> found_;  // the batch's findings, per agent message
  std::vector<absl::Status> statuses_;
  std::vector<std::string> fields_;
  std::array<std::string, kFieldCount> repair_;
  std::array<std::string, kFieldCount> number_;
  std::string repaired_line_;
  std::vector<Staged> staged_;  // the chunk's records, parsed
  OutBuffer stash_;             // their strings
  std::vector<std::string_view> texts_;  // the agent messages among them
  std::vector<size_t> agent_at_;         // texts_[k] is the text of staged_[agent_at_[k]]
  std::vector<size_t> example_count_;
  AgentStats* last_agent_ = nullptr;  // AgentFor's cache: the counters of last_agent_name_
  std::string last_agent_name_;
  // The counter of the last role value seen (nullptr past Counts::kMaxRoleValues values).
  std::string last_role_;
  bool has_last_role_ = false;
  uint64_t* last_role_count_ = nullptr;
};

// Writes all of `data` (retrying short writes and EINTR); false on an error.
bool WriteAll(int fd, std::string_view data);

// The order-dependent part: examples, errors, and the conversations (the library's
// ConversationAudit groups the analysed messages, scores each conversation when it closes, and
// keeps the summary); conversation rows go to conversations.jsonl as they close.
class OrderedStage {
 public:
  OrderedStage(const AuditConfig& cfg, AuditResult* result, ConversationAudit* audit, int conv_fd)
      : cfg_(cfg), res_(result), audit_(audit), conv_fd_(conv_fd) {}

  void Consume(Batch& b) {
    res_->counts.Merge(b.counts);
    res_->input_records[b.input] += b.counts.records;
    for (InputError& e : b.errors) {
      if (printed_ < kMaxPrintedErrors) {
        std::cerr << res_->inputs[e.input] << ":" << e.line << ": " << e.message << "\n";
      } else if (printed_ == kMaxPrintedErrors) {
        std::cerr << "scriptqa audit: further problems are listed in the summary only\n";
      }
      ++printed_;
      if (res_->errors.size() < kMaxStoredErrors) res_->errors.push_back(std::move(e));
    }
    for (Example& e : b.examples) {
      if (res_->examples.size() >= cfg_.max_examples) break;
      bool useful = false;
      for (const OwnedFinding& f : e.findings)
        useful = useful || example_count_[f.rule->index] < cfg_.examples_per_rule;
      if (!useful) continue;
      for (const OwnedFinding& f : e.findings) ++example_count_[f.rule->index];
      res_->examples.push_back(std::move(e));
    }
    auto row = [&](const ConversationResult& r) { Row(r); };
    for (size_t i = 0; i < b.turns.size(); ++i) {
      std::string_view id(b.conv_arena.data() + b.turn_conv[i].first, b.turn_conv[i].second);
      audit_->Add(id, std::move(b.turns[i]), row);
    }
    Flush(false);
  }

  // After the last chunk: the conversations still open.
  void Finish() {
    audit_->Finish([&](const ConversationResult& r) { Row(r); });
    Flush(true);
  }

  void Start(size_t rules) { example_count_.assign(rules, 0); }
  bool write_failed() const { return write_failed_; }

 private:
  void Row(const ConversationResult& r) {
    rows_ += r.ToJson();
    rows_ += '\n';
  }
  void Flush(bool all) {
    if (rows_.size() < (1u << 16) && !all) return;
    if (conv_fd_ >= 0 && !write_failed_ && !WriteAll(conv_fd_, rows_)) write_failed_ = true;
    rows_.clear();
  }

  const AuditConfig& cfg_;
  AuditResult* res_;
  ConversationAudit* audit_;
  int conv_fd_;
  std::string rows_;
  bool write_failed_ = false;
  size_t printed_ = 0;
  std::vector<size_t> example_count_;
};

// Writes all of `data` (retrying short writes and EINTR); false on an error.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string HumanBytes(double b) {
  if (b >= 1e9) return absl::StrFormat("%.2f GB", b / 1e9);
  if (b >= 1e6) return absl::StrFormat("%.1f MB", b / 1e6);
  if (b >= 1e3) return absl::StrFormat("%.1f kB", b / 1e3);
  return absl::StrFormat("%.0f B", b);
}

class Progress {
 public:
  explicit Progress(bool on) : on_(on), start_(Clock::now()), last_(start_) {}
  void Update(uint64_t done, int64_t total, uint64_t records, bool force = false) {
    if (!on_) return;
    auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? done / secs : 0;
    std::string line;
    if (total > 0) {
      double frac = std::min(1.0, static_cast<double>(done) / total);
      int width = 28, filled = static_cast<int>(frac * width);
      double eta = rate > 0 ? (total - static_cast<double>(done)) / rate : 0;
      line = absl::StrFormat("[%s%s] %3.0f%%  %s/s  %d records  ETA %d:%02d",
                             std::string(filled, '#'), std::string(width - filled, '.'),
                             frac * 100, HumanBytes(rate), records,
                             static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    } else {
      line = absl::StrFormat("%s read  %s/s  %d records", HumanBytes(done), HumanBytes(rate),
                             records);
    }
    std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void Clear() {
    if (drawn_) std::fprintf(stderr, "\r\x1b[K");
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  Clock::time_point start_, last_;
  bool drawn_ = false;
};

InputFormat FormatOf(const std::string& flag, const std::string& path) {
  if (flag == "csv") return InputFormat::kCsv;
  if (flag == "jsonl") return InputFormat::kJsonl;
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".csv") || ends(".csv.gz") || ends(".CSV")) return InputFormat::kCsv;
  if (ends(".jsonl") || ends(".jsonl.gz") || ends(".json") || ends(".json.gz") || ends(".ndjson"))
    return InputFormat::kJsonl;
  return InputFormat::kAuto;  // standard input, other names: the reader looks at the first line
}

// The flag that names each field.
constexpr std::array<const char*, kFieldCount> kFieldFlags = {
    "--conversation-field", "--turn-field", "--role-field", "--text-field",
    "--timestamp-field",    "--agent-field", "--shop-field"};

// The required fields (conversation, role, text) for which `present(f)` is false, as
// "\"content\" (--text-field)", joined; empty when all are present.
template <typename Present>
std::string MissingFields(const std::array<std::string_view, kFieldCount>& names, Present present) {
  std::vector<std::string> missing;
  for (int f : {kConv, kRole, kText})
    if (!present(f)) missing.push_back(absl::StrCat("\"", AV(names[f]), "\" (", kFieldFlags[f], ")"));
  return absl::StrJoin(missing, " or ");
}

// JSONL: when none of the first records that parse has a required field, every record would be
// malformed; the problem, naming the keys the records do have, or "" when there is none (or no
// record parses: each is reported on its own).
std::string FirstRecordsProblem(const std::string& chunk,
                                const std::array<std::string_view, kFieldCount>& names) {
  constexpr size_t kRecords = 100, kKeys = 30;
  simdjson::dom::parser parser;
  std::vector<std::string> keys;
  std::array<bool, kFieldCount> seen{};
  size_t objects = 0, p = 0;
  for (size_t n = 0; n < kRecords && p < chunk.size(); ++n) {
    size_t end = chunk.find('\n', p);
    if (end == std::string::npos) end = chunk.size();
    simdjson::dom::object obj;
    if (parser.parse(chunk.data() + p, end - p, /*realloc_if_needed=*/true).get_object().get(obj) ==
        simdjson::SUCCESS) {
      ++objects;
      for (simdjson::dom::key_value_pair kv : obj) {
        std::string_view key = kv.key;
        for (int f = 0; f < kFieldCount; ++f) seen[f] = seen[f] || key == names[f];
        if (keys.size() < kKeys && std::find(keys.begin(), keys.end(), key) == keys.end())
          keys.emplace_back(key);
      }
    }
    p = end + 1;
  }
  if (objects == 0) return "";
  std::string missing = MissingFields(names, [&](int f) { return seen[f]; });
  if (missing.empty()) return "";
  return absl::StrCat("none of the first ", objects, " records has the field ", missing,
                      "; their fields: ", keys.empty() ? "(none)" : absl::StrJoin(keys, ", "));
}

// Why an audit scanned nothing, or "" when it scanned what it should. Such an audit exits 2: its
// zero findings would look like a clean archive.
std::string NothingScanned(const AuditResult& r, const AuditConfig& cfg) {
  const Counts& c = r.counts;
  if (c.records == 0) return "no records were read";
  if (c.agent_messages == 0) {
    if (c.errors == c.records) {
      std::string first = r.errors.empty() ? "" : absl::StrCat(" (first: ", r.inputs[r.errors[0].input], ":",
                                                              r.errors[0].line, ": ", r.errors[0].message, ")");
      return absl::StrCat("every one of the ", c.records, " records is malformed", first);
    }
    std::vector<std::pair<std::string, uint64_t>> roles(c.roles.begin(), c.roles.end());
    std::sort(roles.begin(), roles.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<std::string> seen;
    for (const auto& [role, n] : roles) seen.push_back(absl::StrCat("\"", role, "\" (", n, ")"));
    return absl::StrCat("no agent message was scanned: no record has one of the agent roles ",
                        absl::StrJoin(cfg.agent_roles, ", "),
                        " (--agent-role); role values seen: ",
                        seen.empty() ? "(none)" : absl::StrJoin(seen, ", "));
  }
  if (c.invalid_utf8 * 2 > c.records) {
    return absl::StrCat("most records (", c.invalid_utf8, " of ", c.records,
                        ") are not valid UTF-8: is the input in GBK or another legacy encoding? "
                        "Convert it first, e.g. iconv -f GBK -t UTF-8 IN > OUT");
  }
  return "";
}

std::string DefaultPath(const std::string& given, const std::string& dir, const char* name) {
  if (!given.empty()) return given;
  return (std::filesystem::path(dir) / name).string();
}

void PrintHuman(std::ostream& os, const nlohmann::ordered_json& s, const std::string& findings_path,
                const std::string& conversations_path, const std::string& summary_path,
                const std::string& report_path) {
  const nlohmann::ordered_json& rec = s["records"];
  os << "scriptqa audit: " << rec["total"].get<uint64_t>() << " records in "
     << s["inputs"].size() << " input(s): " << rec["agent"].get<uint64_t>()
     << " agent messages scanned, " << rec["customer"].get<uint64_t>() << " customer, "
     << rec["errors"].get<uint64_t>() << " malformed\n";
  const nlohmann::ordered_json& f = s["findings"];
  os << "findings: " << f["total"].get<uint64_t>() << " (block "
     << f["by_severity"]["block"].get<uint64_t>() << ", review "
     << f["by_severity"]["review"].get<uint64_t>() << ", advice "
     << f["by_severity"]["advice"].get<uint64_t>() << ") in " << f["flagged_messages"].get<uint64_t>()
     << " messages; " << absl::StrFormat("%.1f", f["per_100_messages"].get<double>())
     << " per 100 agent messages\n";
  std::vector<std::string> cats;
  for (const auto& c : s["findings"]["by_category"])
    if (c["total"].get<uint64_t>() > 0)
      cats.push_back(absl::StrCat(c["category"].get<std::string>(), " ",
                                  c["total"].get<uint64_t>()));
  if (!cats.empty()) os << "  by category: " << absl::StrJoin(cats, ", ") << "\n";
  const nlohmann::ordered_json& conv = s["conversations"];
  os << "conversations: " << conv["total"].get<uint64_t>();
  if (conv["total"].get<uint64_t>() > 0)
    os << ", score mean " << absl::StrFormat("%.1f", conv["score"]["mean"].get<double>()) << " (median "
       << conv["score"]["median"].get<double>() << ", p10 " << conv["score"]["p10"].get<double>() << ")";
  os << "; identity greeting in " << conv["greeting"]["ok"].get<uint64_t>() << "/"
     << conv["greeting"]["checked"].get<uint64_t>() << " first replies\n";
  if (conv["timing_available"].get<bool>()) {
    const nlohmann::ordered_json& fr = conv["first_response"];
    const nlohmann::ordered_json& rp = conv["replies"];
    os << "response times: first response <= " << fr["limit_s"].get<double>() << " s in "
       << fr["within"].get<uint64_t>() << "/" << fr["count"].get<uint64_t>() << "; replies <= "
       << rp["limit_s"].get<double>() << " s in " << rp["within"].get<uint64_t>() << "/"
       << rp["count"].get<uint64_t>() << "\n";
  } else {
    os << "response times: not computed (" << conv["timing_note"].get<std::string>() << ")\n";
  }
  if (findings_path != "-") os << "records:  " << findings_path << "\n";
  os << "scores:   " << conversations_path << "\n";
  os << "summary:  " << summary_path << "\n";
  os << "report:   " << report_path << "\n";
}

}  // namespace

// ---- summary ----

static nlohmann::ordered_json SummaryJson(const AuditResult& r, const ScanSetup& setup, const AuditConfig& cfg,
                           int exit_code) {
  using json = nlohmann::ordered_json;
  const Counts& c = r.counts;
  auto rate = [](double num, double den) { return den > 0 ? num / den : 0.0; };
  json inputs = json::array();
  for (size_t i = 0; i < r.inputs.size(); ++i)
    inputs.push_back({{"path", r.inputs[i]}, {"records", r.input_records[i]}});
  json by_category = json::array();
  for (size_t i = 0; i < r.categories.size(); ++i) {
    const auto& v = c.by_category[i];
    by_category.push_back({{"category", r.categories[i]},
                           {"block", v[2]},
                           {"review", v[1]},
                           {"advice", v[0]},
                           {"total", v[0] + v[1] + v[2]}});
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < c.by_rule.size(); ++i)
    if (c.by_rule[i] > 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.by_rule[a] > c.by_rule[b]; });
  json top_rules = json::array();
  absl::Span<const Rule> rules = setup.filter->rules();
  for (size_t i : order) {
    if (top_rules.size() >= 20) break;
    top_rules.push_back({{"rule", rules[i].id},
                         {"category", rules[i].category},
                         {"severity", std::string(SeverityName(rules[i].severity))},
                         {"count", c.by_rule[i]},
                         {"reason", rules[i].reason}});
  }
  auto category_index = [&](std::string_view name) -> int {
    for (size_t i = 0; i < r.categories.size(); ++i)
      if (r.categories[i] == name) return static_cast<int>(i);
    return -1;
  };
  int deflection = category_index("deflection"), ad_law = category_index("ad_law");
  std::vector<const std::pair<const std::string, AgentStats>*> agents;
  for (const auto& kv : c.agents) agents.push_back(&kv);
  std::sort(agents.begin(), agents.end(), [](auto* a, auto* b) {
    if (a->second.messages != b->second.messages) return a->second.messages > b->second.messages;
    return a->first < b->first;
  });
  json agent_list = json::array();
  for (const auto* kv : agents) {
    const AgentStats& a = kv->second;
    json cats = json::object();
    for (size_t i = 0; i < r.categories.size() && i < a.by_category.size(); ++i)
      if (a.by_category[i] > 0) cats[r.categories[i]] = a.by_category[i];
    auto count_of = [&](int idx) -> uint64_t {
      return idx >= 0 && static_cast<size_t>(idx) < a.by_category.size() ? a.by_category[idx] : 0;
    };
    json entry = {
        {"agent", kv->first},
        {"messages", a.messages},
        {"flagged_messages", a.flagged},
        {"serious_messages", a.serious},
        {"findings", a.findings},
        {"violation_rate", rate(a.flagged, a.messages)},
        {"serious_rate", rate(a.serious, a.messages)},
        {"per_100_messages", 100 * rate(a.findings, a.messages)},
        {"deflection", count_of(deflection)},
        {"ad_law", count_of(ad_law)},
        {"by_category", cats},
    };
    // The conversations this agent handled (the library's summary; "" is the unknown agent).
    std::string key = kv->first == kUnknownAgent ? "" : kv->first;
    auto found = r.agent_conversations.find(key);
    json conv = found == r.agent_conversations.end() ? json::object() : json::parse(found->second);
    entry["conversations"] = conv.value("conversations", uint64_t{0});
    entry["mean_score"] = conv.contains("mean_score") ? conv["mean_score"] : json(nullptr);
    entry["greeting"] = conv.contains("greeting") ? conv["greeting"] : json{{"checked", 0}, {"ok", 0}};
    for (const char* k : {"first_response", "replies"})
      entry[k] = conv.contains(k) ? conv[k] : json{{"count", 0}, {"within", 0}, {"mean_s", nullptr}};
    agent_list.push_back(std::move(entry));
  }
  // Examples, the most severe first (then in input order).
  std::vector<const Example*> ordered;
  for (const Example& e : r.examples) ordered.push_back(&e);
  auto worst = [](const Example* e) {
    Severity s = Severity::kAdvice;
    for (const OwnedFinding& f : e->findings) s = std::max(s, f.severity);
    return s;
  };
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](const Example* a, const Example* b) { return worst(a) > worst(b); });
  json examples = json::array();
  for (const Example* ep : ordered) {
    const Example& e = *ep;
    json fs = json::array();
    for (const OwnedFinding& f : e.findings) fs.push_back(FindingJson(f));
    examples.push_back({{"file", r.inputs[e.input]},
                        {"line", e.line},
                        {"conversation_id", e.conversation_id},
                        {"agent", e.agent},
                        {"text", e.text},
                        {"findings", fs}});
  }
  json problems = json::array();
  for (const InputError& e : r.errors)
    problems.push_back({{"file", r.inputs[e.input]}, {"line", e.line}, {"message", e.message}});
  const FilterInfo& info = setup.filter->info();
  return json{
      {"tool", "scriptqa audit"},
      {"version", SCRIPTQA_VERSION},
      {"rules",
       {{"source", setup.rules_source},
        {"count", info.rule_count},
        {"hash", absl::StrFormat("%016x", info.rules_hash)},
        {"engine", info.engine_version}}},
      {"settings",
       {{"agent_roles", cfg.agent_roles},
        {"customer_roles", cfg.customer_roles},
        {"min_severity", std::string(SeverityName(setup.options.min_severity))},
        {"fail_on", setup.fail_never ? "none" : std::string(SeverityName(setup.fail_on))},
        {"masked", setup.mask},
        {"promo", cfg.promo},
        {"timezone", cfg.timezone}}},
      {"inputs", inputs},
      {"fatal", r.fatal},
      {"records",
       {{"total", c.records},
        {"agent", c.agent_messages},
        {"customer", c.customer_messages},
        {"other", c.other_messages},
        {"errors", c.errors},
        {"warnings", c.warnings},
        {"with_timestamp", c.with_time}}},
      {"findings",
       {{"total", c.findings},
        {"flagged_messages", c.flagged},
        {"violation_rate", rate(c.flagged, c.agent_messages)},
        {"serious_messages", c.serious},
        {"serious_rate", rate(c.serious, c.agent_messages)},
        {"advice_only_messages", c.flagged - c.serious},
        {"advice_only_rate", rate(c.flagged - c.serious, c.agent_messages)},
        {"per_100_messages", 100 * rate(c.findings, c.agent_messages)},
        {"at_or_above_fail_on", c.failing},
        {"by_severity",
         {{"block", c.by_severity[2]}, {"review", c.by_severity[1]}, {"advice", c.by_severity[0]}}},
        {"by_category", by_category},
        {"deflection", deflection >= 0 ? json(by_category[deflection]["total"]) : json(0)},
        {"ad_law", ad_law >= 0 ? json(by_category[ad_law]["total"]) : json(0)},
        {"top_rules", top_rules}}},
      {"agents", agent_list},
      {"conversations", json::parse(r.conversations_json)},
      {"examples", examples},
      {"problems", problems},
      {"performance",
       {{"seconds", r.seconds},
        {"bytes", r.bytes},
        {"mb_per_s", r.seconds > 0 ? r.bytes / 1e6 / r.seconds : 0.0}}},
      {"exit_code", exit_code},
  };
}

// ---- the run ----

int RunAudit(const CommonFlags& flags, const AuditConfig& cfg) {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ScanSetup> setup_or = MakeScanSetup(flags);
  if (!setup_or.ok()) {
    std::cerr << "scriptqa audit: " << setup_or.status().message() << "\n";
    return kExitUsage;
  }
  const ScanSetup& setup = *setup_or;
  if (std::count(cfg.inputs.begin(), cfg.inputs.end(), "-") > 1) {
    std::cerr << "scriptqa audit: standard input (-) can be given only once\n";
    return kExitUsage;
  }
  // The scorecard of the conversation checks, with the limits given on the command line.
  absl::StatusOr<std::shared_ptr<const Scorecard>> card =
      cfg.scorecard.empty() ? Scorecard::Default() : Scorecard::FromFile(cfg.scorecard);
  if (card.ok() && (cfg.first_response_s || cfg.reply_s || cfg.promo_reply_s || cfg.promo)) {
    ScorecardSettings settings = (*card)->settings();
    auto ms = [](double s) { return static_cast<int64_t>(std::llround(s * 1000)); };
    if (cfg.first_response_s) settings[Check::kFirstResponse].limit_ms = ms(*cfg.first_response_s);
    if (cfg.reply_s) settings[Check::kReplyTime].limit_ms = ms(*cfg.reply_s);
    if (cfg.promo_reply_s) settings[Check::kReplyTime].promo_limit_ms = ms(*cfg.promo_reply_s);
    settings.promotion = settings.promotion || cfg.promo;
    card = (*card)->WithSettings(std::move(settings));
  }
  if (!card.ok()) {
    std::cerr << "scriptqa audit: scorecard: " << card.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<absl::TimeZone> zone = ParseTimeZone(cfg.timezone);
  if (!zone.ok()) {
    std::cerr << "scriptqa audit: --timezone: " << zone.status().message() << "\n";
    return kExitUsage;
  }

  std::string findings_path = DefaultPath(cfg.findings_path, cfg.out_dir, "findings.jsonl");
  std::string summary_path = DefaultPath(cfg.summary_path, cfg.out_dir, "summary.json");
  std::string report_path = DefaultPath(cfg.report_path, cfg.out_dir, "report.html");
  std::string conversations_path = DefaultPath(cfg.conversations_path, cfg.out_dir, "conversations.jsonl");
  if (flags.json && (findings_path == "-" || conversations_path == "-")) {
    std::cerr << "scriptqa audit: --json prints the summary on standard output, where --findings - "
                 "or --conversations - writes records: use one of them\n";
    return kExitUsage;
  }
  std::error_code ec;
  for (const std::string& p : {findings_path, summary_path, report_path, conversations_path}) {
    if (p == "-") continue;
    std::filesystem::path parent = std::filesystem::path(p).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      std::cerr << "scriptqa audit: cannot create " << parent.string() << ": " << ec.message()
                << "\n";
      return kExitUsage;
    }
  }
  // The records go out with write(2) straight from each chunk's buffer: chunks are about 1 MiB,
  // so a stdio buffer would only add a copy.
  int out_fd = STDOUT_FILENO;
  if (findings_path == "-") {
    std::fflush(stdout);
  } else {
    out_fd = open(findings_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out_fd < 0) {
      std::cerr << "scriptqa audit: cannot write " << findings_path << ": " << strerror(errno)
                << "\n";
      return kExitUsage;
    }
  }
  int conv_fd = STDOUT_FILENO;
  if (conversations_path == "-") {
    if (findings_path == "-") {
      std::cerr << "scriptqa audit: --findings - and --conversations - cannot both be standard output\n";
      return kExitUsage;
    }
    std::fflush(stdout);
  } else {
    conv_fd = open(conversations_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (conv_fd < 0) {
      std::cerr << "scriptqa audit: cannot write " << conversations_path << ": " << strerror(errno)
                << "\n";
      return kExitUsage;
    }
  }

  Shared sh;
  sh.setup = &setup;
  sh.config = &cfg;
  sh.zone = *zone;
  const FieldNames& fn = cfg.fields;
  sh.agent_roles.assign(cfg.agent_roles.begin(), cfg.agent_roles.end());
  sh.customer_roles.assign(cfg.customer_roles.begin(), cfg.customer_roles.end());
  sh.names = {fn.conversation_id, fn.turn, fn.role, fn.text, fn.timestamp, fn.agent_id, fn.shop_id};
  const std::vector<std::string>& categories = setup.filter->categories();
  for (const Rule& rule : setup.filter->rules()) {
    auto it = std::find(categories.begin(), categories.end(), rule.category);
    sh.rule_category.push_back(static_cast<uint32_t>(it - categories.begin()));
    std::string head = "{\"rule\":";
    AppendJsonString(&head, rule.id);
    head += ",\"category\":";
    AppendJsonString(&head, rule.category);
    head += ",\"severity\":\"";
    std::string tail = ",\"reason\":";
    AppendJsonString(&tail, rule.reason);
    tail += "}";
    sh.finding_head.push_back(std::move(head));
    sh.finding_tail.push_back(std::move(tail));
  }
  AuditResult res;
  res.categories = categories;
  res.counts.Init(categories.size(), setup.filter->rules().size());
  res.inputs = cfg.inputs;
  res.input_records.assign(cfg.inputs.size(), 0);
  for (const std::string& in : cfg.inputs) {
    std::string j;
    AppendJsonString(&j, in == "-" ? "<stdin>" : in);
    sh.file_json.push_back(j);
  }
  for (std::string& in : res.inputs)
    if (in == "-") in = "<stdin>";

  unsigned threads = cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) {
    absl::StatusOr<Scanner> scanner = Scanner::Create(setup.filter);
    absl::StatusOr<TurnAnalyzer> analyzer = TurnAnalyzer::Create(*card, TurnOptions{true, setup.mask});
    if (!scanner.ok() || !analyzer.ok()) {
      std::cerr << "scriptqa audit: "
                << (scanner.ok() ? analyzer.status() : scanner.status()).message() << "\n";
      return kExitUsage;
    }
    workers.push_back(std::make_unique<Worker>(sh, *std::move(scanner), *std::move(analyzer)));
  }

  // Work queue and in-order completion.
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  std::deque<Batch*> queue;
  bool closing = false;
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, w = workers[i].get()] {
      while (true) {
        Batch* b;
        {
          std::unique_lock<std::mutex> lock(mu);
          work_cv.wait(lock, [&] { return closing || !queue.empty(); });
          if (queue.empty()) return;
          b = queue.front();
          queue.pop_front();
        }
        w->Process(b);
        {
          std::lock_guard<std::mutex> lock(mu);
          b->done = true;
        }
        done_cv.notify_all();
      }
    });
  }

  AuditOptions audit_options;
  audit_options.mask = setup.mask;
  audit_options.zone = *zone;
  audit_options.summary.timestamp_field = cfg.fields.timestamp;
  absl::StatusOr<ConversationAudit> conversations =
      ConversationAudit::Create(*card, setup.filter, audit_options);
  if (!conversations.ok()) {
    std::cerr << "scriptqa audit: " << conversations.status().message() << "\n";
    return kExitUsage;
  }
  OrderedStage ordered(cfg, &res, &*conversations, conv_fd);
  ordered.Start(setup.filter->rules().size());
  bool progress_on = cfg.progress == "always" || (cfg.progress == "auto" && isatty(STDERR_FILENO));
  Progress progress(progress_on);
  int64_t total_size = 0;
  for (const std::string& in : cfg.inputs) {
    std::error_code size_ec;
    auto size = in == "-" ? 0 : std::filesystem::file_size(in, size_ec);
    if (in == "-" || size_ec) {
      total_size = -1;
      break;
    }
    total_size += static_cast<int64_t>(size);
  }
  uint64_t done_raw = 0;
  const size_t max_in_flight = 2 * threads + 2;
  std::deque<std::unique_ptr<Batch>> in_flight;
  std::vector<std::unique_ptr<Batch>> spare;
  uint64_t seq = 0;
  bool write_failed = false;

  auto finish_oldest = [&] {
    Batch* b = in_flight.front().get();
    {
      std::unique_lock<std::mutex> lock(mu);
      done_cv.wait(lock, [&] { return b->done; });
    }
    if (!write_failed && !WriteAll(out_fd, b->out.view())) write_failed = true;
    res.bytes += b->chunk.data.size();
    ordered.Consume(*b);
    spare.push_back(std::move(in_flight.front()));
    in_flight.pop_front();
  };

  for (uint32_t input = 0; input < cfg.inputs.size(); ++input) {
    const std::string& path = cfg.inputs[input];
    InputFormat format = FormatOf(cfg.format, path);
    absl::StatusOr<std::unique_ptr<ChunkReader>> reader =
        ChunkReader::Open(path, format, cfg.max_record_bytes);
    if (!reader.ok()) {
      std::cerr << "scriptqa audit: " << reader.status().message() << "\n";
      res.fatal.push_back(std::string(reader.status().message()));
      continue;
    }
    format = (*reader)->format();
    auto refuse = [&](const std::string& why) {
      std::string msg = absl::StrCat(res.inputs[input], ": ", why);
      std::cerr << "scriptqa audit: " << msg << "\n";
      res.fatal.push_back(msg);
    };
    std::shared_ptr<std::vector<int>> columns;
    if (format == InputFormat::kCsv) {
      columns = std::make_shared<std::vector<int>>(kFieldCount, -1);
      const std::vector<std::string>& header = (*reader)->header();
      for (int f = 0; f < kFieldCount; ++f) {
        auto it = std::find(header.begin(), header.end(), sh.names[f]);
        if (it != header.end()) (*columns)[f] = static_cast<int>(it - header.begin());
      }
      // Every record would lack the field: say so now, with the columns there are.
      std::string missing = MissingFields(sh.names, [&](int f) { return (*columns)[f] >= 0; });
      if (!missing.empty()) {
        refuse(absl::StrCat("the CSV header has no column ", missing, "; its columns: ",
                            header.empty() ? "(none)" : absl::StrJoin(header, ", ")));
        continue;
      }
    }
    bool first_chunk = true;
    while (true) {
      std::unique_ptr<Batch> b;
      if (!spare.empty()) {
        b = std::move(spare.back());
        spare.pop_back();
      } else {
        b = std::make_unique<Batch>();
      }
      if (!(*reader)->Next(cfg.batch_bytes, &b->chunk)) {
        spare.push_back(std::move(b));
        if (first_chunk && (*reader)->status().ok()) refuse("no records (the input is empty)");
        break;
      }
      if (first_chunk && format == InputFormat::kJsonl) {
        std::string problem = FirstRecordsProblem(b->chunk.data, sh.names);
        if (!problem.empty()) {
          spare.push_back(std::move(b));
          refuse(problem);
          break;
        }
      }
      first_chunk = false;
      b->seq = seq++;
      b->input = input;
      b->format = format;
      b->columns = columns;
      b->done = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        queue.push_back(b.get());
      }
      work_cv.notify_one();
      in_flight.push_back(std::move(b));
      while (in_flight.size() >= max_in_flight) finish_oldest();
      progress.Update(done_raw + (*reader)->raw_bytes_read(), total_size, res.counts.records);
    }
    done_raw += (*reader)->raw_bytes_read();
    if (!(*reader)->status().ok()) {
      std::string msg = absl::StrCat(res.inputs[input], ": ", (*reader)->status().message());
      std::cerr << "scriptqa audit: " << msg << "\n";
      res.fatal.push_back(msg);
    }
  }
  while (!in_flight.empty()) finish_oldest();
  ordered.Finish();
  res.conversations_json = conversations->summary().ToJson();
  for (const auto& [agent, stats] : res.counts.agents) {
    std::string key = agent == kUnknownAgent ? "" : agent;
    res.agent_conversations[key] = conversations->summary().AgentJson(key);
  }
  if (ordered.write_failed()) write_failed = true;
  if (conv_fd != STDOUT_FILENO && close(conv_fd) != 0) write_failed = true;
  {
    std::lock_guard<std::mutex> lock(mu);
    closing = true;
  }
  work_cv.notify_all();
  for (std::thread& t : pool) t.join();
  progress.Update(done_raw, total_size, res.counts.records, /*force=*/true);
  progress.Clear();
  if (out_fd != STDOUT_FILENO && close(out_fd) != 0) write_failed = true;

  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int exit_code = res.counts.failing > 0 ? kExitFindings : kExitOk;
  // (An input refused as a whole has said why already.)
  if (std::string nothing = NothingScanned(res, cfg);
      !nothing.empty() && !(res.fatal.size() == cfg.inputs.size() && res.counts.records == 0)) {
    std::cerr << "scriptqa audit: " << nothing << "\n";
    res.fatal.push_back(nothing);
  }
  if (!res.fatal.empty() || write_failed || (cfg.strict && res.counts.errors > 0))
    exit_code = kExitUsage;
  if (write_failed)
    std::cerr << "scriptqa audit: writing " << findings_path << " or " << conversations_path << " failed\n";

  nlohmann::ordered_json summary = SummaryJson(res, setup, cfg, exit_code);
  {
    std::ofstream s(summary_path, std::ios::binary);
    s << summary.dump(2) << "\n";
    if (!s) {
      std::cerr << "scriptqa audit: cannot write " << summary_path << "\n";
      exit_code = kExitUsage;
    }
  }
  {
    std::ofstream h(report_path, std::ios::binary);
    h << RenderReport(summary);
    if (!h) {
      std::cerr << "scriptqa audit: cannot write " << report_path << "\n";
      exit_code = kExitUsage;
    }
  }
  if (flags.json) {
    // The summary (as summary.json) on standard output, for scripts.
    std::cout << summary.dump(2) << "\n";
  } else if (!cfg.quiet) {
    std::ostream& os = findings_path == "-" || conversations_path == "-" ? std::cerr : std::cout;
    PrintHuman(os, summary, findings_path, conversations_path, summary_path, report_path);
  }
  return exit_code;
}

}  // namespace scriptqa::cli
