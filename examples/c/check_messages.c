/* Checks agent messages (one per line, '#' lines skipped) through the C API, the way a chat
 * server written in C (or Go, Rust, ... over FFI) uses scriptqa:
 *
 *   check_messages [--stream] [--db RULES.sqdb] MESSAGES.txt
 *
 * Without --db the default rule packs are loaded ($SCRIPTQA_DICTIONARIES or the installed ones).
 * With --stream every message is also fed to a stream in 3-byte chunks (so UTF-8 characters are
 * split), printing what is releasable as it goes; the final findings must equal the block scan's.
 * The last line is a summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scriptqa/scriptqa.h"

static const char* severity_name(scriptqa_severity s) {
  return s == SCRIPTQA_BLOCK ? "block" : s == SCRIPTQA_REVIEW ? "review" : "advice";
}

static int fail(const char* what, scriptqa_error* err) {
  fprintf(stderr, "%s: %s\n", what, scriptqa_error_message(err));
  scriptqa_error_free(err);
  return 1;
}

int main(int argc, char** argv) {
  const char* path = NULL;
  const char* db = NULL;
  int stream_mode = 0, i;
  scriptqa_rules* rules = NULL;
  scriptqa_scanner* scanner = NULL;
  scriptqa_stream* stream = NULL;
  scriptqa_error* err = NULL;
  FILE* in;
  char line[8192];
  int messages = 0, flagged = 0, disagreements = 0;

  for (i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--stream") == 0) {
      stream_mode = 1;
    } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
      db = argv[++i];
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    fprintf(stderr, "usage: %s [--stream] [--db RULES.sqdb] MESSAGES.txt\n", argv[0]);
    return 2;
  }
  if ((db ? scriptqa_rules_load_database(db, &rules, &err)
          : scriptqa_rules_load_default(&rules, &err)) != SCRIPTQA_OK)
    return fail("loading the rules", err);
  if (scriptqa_scanner_new(rules, &scanner, &err) != SCRIPTQA_OK) return fail("scanner", err);
  if (stream_mode && scriptqa_stream_new(rules, NULL, 0, &stream, &err) != SCRIPTQA_OK)
    return fail("stream", err);

  in = fopen(path, "rb");
  if (!in) {
    perror(path);
    return 2;
  }
  while (fgets(line, sizeof line, in)) {
    size_t len = strcspn(line, "\r\n"), n = 0, k;
    const scriptqa_finding* f = NULL;
    line[len] = '\0';
    if (len == 0 || line[0] == '#') continue;
    ++messages;
    if (scriptqa_scan(scanner, line, len, NULL, &f, &n, &err) != SCRIPTQA_OK) return fail("scan", err);
    printf("%s %s\n", n ? "FLAG" : "ok  ", line);
    if (n) ++flagged;
    for (k = 0; k < n; ++k)
      printf("       %s %s [%zu,%zu) \"%s\" -> \"%s\"  (%s)\n", severity_name(f[k].severity),
             f[k].rule_id, f[k].char_begin, f[k].char_end, f[k].text, f[k].suggestion, f[k].reason);
    if (stream_mode) {
      scriptqa_stream_update u;
      const scriptqa_finding* all = NULL;
      size_t pos, n_all = 0, shown = 0, j;
      if (scriptqa_stream_reset(stream, NULL, &err) != SCRIPTQA_OK) return fail("stream reset", err);
      for (pos = 0; pos < len; pos += 3) {
        size_t c = len - pos < 3 ? len - pos : 3;
        if (scriptqa_stream_write(stream, line + pos, c, &u, &err) != SCRIPTQA_OK)
          return fail("stream write", err);
        for (j = 0; j < u.new_count; ++j)
          printf("       stream: %s certain after %zu bytes\n", u.new_findings[j].rule_id, pos + c);
        shown = u.releasable;
      }
      if (scriptqa_stream_finish(stream, &u, &err) != SCRIPTQA_OK) return fail("stream finish", err);
      printf("       stream: %zu of %zu bytes were releasable before the end\n", shown, len);
      if (scriptqa_stream_findings(stream, &all, &n_all, &err) != SCRIPTQA_OK)
        return fail("stream findings", err);
      /* f (the block scan's findings) is still valid: only the stream was called since. */
      if (n_all != n) ++disagreements;
      for (j = 0; j < n_all && j < n; ++j)
        if (strcmp(all[j].rule_id, f[j].rule_id) != 0 || all[j].byte_begin != f[j].byte_begin ||
            all[j].byte_end != f[j].byte_end)
          ++disagreements;
    }
  }
  fclose(in);
  printf("checked %d messages, %d with findings%s\n", messages, flagged,
         !stream_mode ? "" : disagreements ? "; STREAM AND BLOCK DISAGREE" : "; stream and block agree");
  scriptqa_stream_free(stream);
  scriptqa_scanner_free(scanner);
  scriptqa_rules_free(rules);
  return disagreements ? 1 : 0;
}
