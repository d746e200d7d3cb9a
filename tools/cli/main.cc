// scriptqa — the command-line front end of the scriptqa library (docs/cli.md).
//
//   scriptqa check "亲，加我薇信发你优惠券"        one message: findings, highlighted
//   scriptqa check --lines msgs.txt --json       one result per line (JSON Lines)
//   scriptqa rewrite "这款是全网最低价"            the compliant version
//   scriptqa explain "第一时间为您处理"            every raw hit and why it was kept or not
//   scriptqa audit chats.jsonl --out audit/      transcripts → findings.jsonl, summary, report
//   scriptqa compile --rules my.rules -o my.db   rule packs → serialized database
//   scriptqa lint dictionaries/*.rules           load errors and hit/miss examples
//   scriptqa eval labelled.jsonl                 recall, false alarms, precision on labelled data
//   scriptqa lint --limit max_regexes=2000 big.rules   past a compile-time bound (0 lifts it)
//
// Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it (lint: problems);
// 2 usage, rule or input error.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <new>

#include "CLI/CLI.hpp"
#include "audit.h"
#include "commands.h"
#include "common.h"

namespace {

// An installed tool uses the packs installed with it (PREFIX/bin/scriptqa ->
// PREFIX/share/scriptqa/dictionaries), wherever PREFIX is, unless $SCRIPTQA_DICTIONARIES says
// otherwise; a tool in a build tree has none beside it and uses the library's default.
void UseInstalledPacks() {
  const char* env = std::getenv("SCRIPTQA_DICTIONARIES");
  if (env != nullptr && *env) return;
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  std::filesystem::path packs = exe.parent_path().parent_path() / "share" / "scriptqa" / "dictionaries";
  if (std::filesystem::is_directory(packs, ec)) setenv("SCRIPTQA_DICTIONARIES", packs.c_str(), 1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scriptqa::cli;
  UseInstalledPacks();
  CLI::App app{
      "scriptqa — compliance checks for e-commerce customer-service messages\n"
      "(ad-law absolute terms, deflection, off-platform contact, paid reviews, personal data).",
      "scriptqa"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return VersionText(); },
                       "The versions of the tool, library and engine, and the default packs");
  app.footer(
      "Exit codes: 0 nothing at or above --fail-on (default block); 1 findings at or above it "
      "(lint: problems found); 2 usage, rule or input error.\nSee docs/cli.md.");

  CommonFlags flags;
  std::vector<std::string> words;
  auto add_message = [&](CLI::App* sub) {
    sub->add_option("message", words,
                    "The message (several words are joined by spaces); none or - reads stdin")
        ->type_name("TEXT");
    AddCommonFlags(sub, &flags, FlagSet::kScan);
  };
  CLI::App* check = app.add_subcommand(
      "check", "Check one message (or, with --lines, each line of files): findings with their spans");
  add_message(check);
  bool lines = false;
  check->add_flag("--lines", lines,
                  "One message per input line (the arguments are files; none or -: standard "
                  "input), one result per line; JSON Lines with --json");
  CLI::App* rewrite = app.add_subcommand("rewrite", "Print the compliant version of a message");
  add_message(rewrite);
  CLI::App* explain =
      app.add_subcommand("explain", "Every raw hit of a message and why it was kept or dropped");
  add_message(explain);

  AuditConfig audit_config;
  CLI::App* audit =
      app.add_subcommand("audit", "Audit chat transcripts: findings JSONL, summary, HTML report");
  AddCommonFlags(audit, &flags, FlagSet::kScan);
  AddAuditFlags(audit, &audit_config);

  std::vector<std::string> files;
  std::string output;
  CLI::App* compile =
      app.add_subcommand("compile", "Compile rule packs into a serialized database (--db)");
  compile->add_option("files", files, "Rule packs / term lists (default: the shipped packs)")
      ->type_name("FILE...")
      ->check(CLI::ExistingFile);
  compile->add_option("--output,-o", output, "Database file to write")
      ->type_name("FILE")
      ->required();
  AddCommonFlags(compile, &flags, FlagSet::kRulesOnly);
  compile->add_flag("--json", flags.json, "Machine-readable JSON output");

  CLI::App* lint = app.add_subcommand(
      "lint", "Check rule packs: load errors (file:line) and every rule's hit/miss examples");
  lint->add_option("files", files, "Rule packs / term lists (default: the shipped packs)")
      ->type_name("FILE...")
      ->check(CLI::ExistingFile);
  AddCommonFlags(lint, &flags, FlagSet::kRulesOnly);
  lint->add_flag("--json", flags.json, "Machine-readable JSON output");

  EvalFlags eval_flags;
  CLI::App* eval = app.add_subcommand(
      "eval", "Score the rules on labelled messages: recall, false alarms, precision, misses");
  eval->add_option("files", eval_flags.files,
                   "Labelled JSONL: text, expect flag|pass, category, optional span and evasion")
      ->type_name("FILE...")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("--flag-at", eval_flags.flag_at,
                   "A message counts as flagged with a finding at or above this severity")
      ->type_name("review|block")
      ->check(CLI::IsMember({"advice", "review", "block"}))
      ->capture_default_str();
  eval->add_flag("--all", eval_flags.all, "List every miss and false alarm (default: 30 of each)");
  AddCommonFlags(eval, &flags, FlagSet::kScan);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  int code = kExitUsage;
  try {
    if (check->parsed()) code = RunCheck(flags, words, lines);
    if (rewrite->parsed()) code = RunRewrite(flags, words);
    if (explain->parsed()) code = RunExplain(flags, words);
    if (audit->parsed()) code = RunAudit(flags, audit_config);
    if (compile->parsed()) code = RunCompile(flags, files, output);
    if (lint->parsed()) code = RunLint(flags, files);
    if (eval->parsed()) code = RunEval(flags, eval_flags);
  } catch (const std::bad_alloc&) {
    // The library reports what it can as a status; this is the tool's own containers (and
    // third-party parsers) running out of memory under a limit.
    std::cerr << "scriptqa: out of memory\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "scriptqa: " << e.what() << "\n";
    return kExitUsage;
  }
  // What was printed must have reached standard output: a full disk or a closed pipe is an
  // error, not a result.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << "scriptqa: cannot write to standard output\n";
    return kExitUsage;
  }
  return code;
}
