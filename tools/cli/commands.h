// The one-message subcommands (check, rewrite, explain) and the rule-pack subcommands (compile,
// lint). `audit` is in audit.h.
#ifndef SCRIPTQA_TOOLS_CLI_COMMANDS_H_
#define SCRIPTQA_TOOLS_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "common.h"

namespace scriptqa::cli {

// `words`: the message as arguments (joined by single spaces); empty or "-": read standard input
// (one trailing newline removed). An argument that names an existing file or directory is a usage
// error (exit 2) saying how to read it. `lines` (check --lines): `words` are files (none or "-":
// standard input), each line a message, one result per line (JSON Lines with --json).
int RunCheck(const CommonFlags& flags, const std::vector<std::string>& words, bool lines = false);
int RunRewrite(const CommonFlags& flags, const std::vector<std::string>& words);
int RunExplain(const CommonFlags& flags, const std::vector<std::string>& words);

// Rule packs: positional files plus --rules; none means the default packs.
int RunCompile(const CommonFlags& flags, const std::vector<std::string>& files,
               const std::string& output);
int RunLint(const CommonFlags& flags, const std::vector<std::string>& files);

// `eval`: labelled JSONL files (docs/quality.md) scored against the rules.
struct EvalFlags {
  std::vector<std::string> files;
  std::string flag_at = "review";
  bool all = false;  // list every problem
};
int RunEval(const CommonFlags& flags, const EvalFlags& eval);

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_COMMANDS_H_
