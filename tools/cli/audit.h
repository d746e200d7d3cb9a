// `scriptqa audit`: transcripts in, findings JSONL + summary JSON + HTML report out.
//
// Pipeline (docs/cli.md, "audit"): the main thread reads each input in chunks of whole records
// (bounded size) and hands them to N worker threads; each worker owns a Scanner, a TurnAnalyzer
// (scriptqa/conversation.h) and a JSON parser, parses, scans, reads the cues and formats its
// chunk's output; the main thread writes the chunks' output in input order and feeds the analysed
// messages to the library's ConversationAudit, which scores the conversations. At most 2N+2
// chunks are in flight, so memory does not depend on the size of the archive.
#ifndef SCRIPTQA_TOOLS_CLI_AUDIT_H_
#define SCRIPTQA_TOOLS_CLI_AUDIT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "common.h"

namespace scriptqa::cli {

struct FieldNames {
  std::string conversation_id = "conversation_id";
  std::string turn = "turn";
  std::string role = "role";
  std::string text = "text";
  std::string timestamp = "timestamp";
  std::string agent_id = "agent_id";
  std::string shop_id = "shop_id";
};

struct AuditConfig {
  std::vector<std::string> inputs;  // paths; "-" is stdin
  std::string format = "auto";      // auto|jsonl|csv
  FieldNames fields;
  std::vector<std::string> agent_roles{"agent"};
  std::vector<std::string> customer_roles{"customer"};
  std::string out_dir = "scriptqa-audit";
  std::string findings_path;  // default <out>/findings.jsonl; "-" = stdout
  std::string summary_path;   // default <out>/summary.json
  std::string report_path;    // default <out>/report.html
  std::string conversations_path;  // default <out>/conversations.jsonl
  unsigned threads = 0;       // 0 = hardware threads
  std::string scorecard;      // --scorecard FILE; empty: the default scorecard
  std::string timezone = "UTC";
  // Overrides of the scorecard's limits (seconds), when given.
  std::optional<double> first_response_s, reply_s, promo_reply_s;
  bool promo = false;
  size_t max_record_bytes = 16 << 20;
  size_t batch_bytes = 1 << 20;
  std::string progress = "auto";  // auto|always|never
  bool quiet = false;
  bool strict = false;  // malformed records make the exit code 2
  size_t examples_per_rule = 3;
  size_t max_examples = 60;
};

void AddAuditFlags(CLI::App* app, AuditConfig* config);
int RunAudit(const CommonFlags& flags, const AuditConfig& config);

// ---- results, shared with the report ----

// Message counters of one agent (conversation figures come from the library's summary).
struct AgentStats {
  uint64_t messages = 0;  // scanned messages
  uint64_t flagged = 0;   // messages with at least one finding
  uint64_t serious = 0;   // messages with a block or review finding
  uint64_t findings = 0;
  std::vector<uint64_t> by_category;  // findings, indexed like Counts::by_category
  void Merge(const AgentStats& o);
};

// Additive counters, filled per chunk by the workers and merged in order.
struct Counts {
  uint64_t records = 0;
  uint64_t errors = 0;    // malformed records (output with "error")
  uint64_t warnings = 0;  // repaired UTF-8, bad timestamps (scanned anyway)
  uint64_t invalid_utf8 = 0;  // records with invalid UTF-8 (repaired)
  // Role values seen, with their counts (the first kMaxRoleValues distinct ones), so that an
  // audit that scanned nothing can say which roles the input has.
  absl::flat_hash_map<std::string, uint64_t> roles;
  static constexpr size_t kMaxRoleValues = 32;
  uint64_t agent_messages = 0, customer_messages = 0, other_messages = 0;
  uint64_t flagged = 0, findings = 0, with_time = 0;
  uint64_t serious = 0;  // messages with a block or review finding
  uint64_t failing = 0;  // findings at or above --fail-on
  std::array<uint64_t, 3> by_severity{};
  std::vector<std::array<uint64_t, 3>> by_category;  // filter->categories() order
  std::vector<uint64_t> by_rule;                      // filter->rules() order
  absl::flat_hash_map<std::string, AgentStats> agents;
  void Init(size_t categories, size_t rules);
  void Merge(const Counts& o);
};

struct Example {
  uint32_t input = 0;
  uint64_t line = 0;
  std::string conversation_id, agent;
  std::string text;  // masked
  std::vector<OwnedFinding> findings;
};

struct InputError {
  uint32_t input = 0;
  uint64_t line = 0;
  std::string message;
};

struct AuditResult {
  std::vector<std::string> inputs;
  std::vector<uint64_t> input_records;
  std::vector<std::string> fatal;  // inputs that could not be read to the end
  Counts counts;
  std::vector<std::string> categories;
  std::string conversations_json;  // the library's ConversationSummary::ToJson()
  std::map<std::string, std::string> agent_conversations;  // agent ("" unknown) -> AgentJson()
  std::vector<Example> examples;
  std::vector<InputError> errors;  // the first ones, in input order
  double seconds = 0;
  uint64_t bytes = 0;  // decoded input bytes
};

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_AUDIT_H_
