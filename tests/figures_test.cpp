// tests/support/figures.hpp: every figure line is one JSON object that reads back as written,
// whatever bytes the names hold (quotes, backslashes, control characters, bytes that are not UTF-8).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/figures.hpp"

namespace {

std::vector<nlohmann::json> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));  // throws on bad JSON
    return rows;
}

TEST(Figures, EveryLineIsJsonThatReadsBackAsWritten) {
    const std::string path = ::testing::TempDir() + "figures_test." + std::to_string(::getpid()) + ".jsonl";
    ::setenv("AMX_FIGURES_FILE", path.c_str(), 1);
    const std::string odd = std::string("q\"b\\s\n\t\x01 end", 13);
    amx::test::figure("plain", 7, "t");
    amx::test::figure(odd, 8, odd);
    amx::test::figure("not utf-8 \xff\xfe", 9, "t");
    ::unsetenv("AMX_FIGURES_FILE");
    std::vector<nlohmann::json> rows;
    ASSERT_NO_THROW(rows = lines_of(path));
    std::remove(path.c_str());
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], (nlohmann::json{{"test", "t"}, {"figure", "plain"}, {"value", 7}}));
    EXPECT_EQ(rows[1]["figure"], odd);
    EXPECT_EQ(rows[1]["test"], odd);
    EXPECT_EQ(rows[1]["value"], 8);
    EXPECT_EQ(rows[2]["figure"], "not utf-8 \xEF\xBF\xBD\xEF\xBF\xBD") << "each stray byte becomes U+FFFD";
}

}  // namespace
