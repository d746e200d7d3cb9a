// The self-contained HTML report of `scriptqa audit`: inline CSS and inline SVG charts, no
// scripts, no network. It is rendered from the summary JSON alone, so the report and summary.json
// can never disagree.
#ifndef SCRIPTQA_TOOLS_CLI_REPORT_H_
#define SCRIPTQA_TOOLS_CLI_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace scriptqa::cli {

std::string RenderReport(const nlohmann::ordered_json& summary);

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_REPORT_H_
