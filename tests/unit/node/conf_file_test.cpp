// Specification of the kcnd.conf syntax corecell accepts (node/conf_file.h).
#include "node/conf_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cc::node {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ConfFile parse_ok(const std::string& text) {
  auto r = parse_conf(text, "t.conf");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ConfFile{};
}

std::string value_of(const std::string& text, const std::string& key) {
  ConfFile f = parse_ok(text);
  const ConfEntry* e = f.find(key);
  EXPECT_NE(e, nullptr) << key << " missing";
  return e ? e->value : "<missing>";
}

Error parse_err(const std::string& text) {
  auto r = parse_conf(text, "t.conf");
  EXPECT_FALSE(r.ok()) << "parsed, but expected an error: " << text;
  return r.ok() ? Error{} : r.error();
}

TEST(ConfFile, ParsesAssignmentsInOrderWithLineNumbers) {
  ConfFile f = parse_ok("# header\n\nPORT=32323\n  VERBOSITY=3\nSYNCMODE=full\n");
  ASSERT_EQ(f.entries.size(), 3u);
  EXPECT_EQ(f.entries[0].key, "PORT");
  EXPECT_EQ(f.entries[0].value, "32323");
  EXPECT_EQ(f.entries[0].line, 3);
  EXPECT_EQ(f.entries[1].key, "VERBOSITY");
  EXPECT_EQ(f.entries[1].line, 4);
  EXPECT_EQ(f.entries[2].value, "full");
  EXPECT_EQ(f.source, "t.conf");
}

TEST(ConfFile, CommentsStartOnlyAtWordBoundaries) {
  EXPECT_EQ(value_of("RPC_ENABLE=0 # if this is set\n", "RPC_ENABLE"), "0");
  EXPECT_EQ(value_of("X=a\t# tab before comment\n", "X"), "a");
  EXPECT_EQ(value_of("X=a#b\n", "X"), "a#b");
  EXPECT_EQ(value_of("X=#b\n", "X"), "#b");
  EXPECT_EQ(value_of("X=\"a # b\"\n", "X"), "a # b");
  EXPECT_EQ(parse_ok("   # indented comment\n").entries.size(), 0u);
}

TEST(ConfFile, EmptyValueIsEmpty) {
  EXPECT_EQ(value_of("NETWORK_ID=\n", "NETWORK_ID"), "");
  EXPECT_EQ(value_of("BOOTNODES=\"\"\n", "BOOTNODES"), "");
  EXPECT_EQ(value_of("X= # nothing\n", "X"), "");
}

TEST(ConfFile, DoubleQuotesHonourShellEscapesOnly) {
  EXPECT_EQ(value_of(R"(X="a\"b")"
                     "\n",
                     "X"),
            "a\"b");
  EXPECT_EQ(value_of(R"(X="\$PORT \\ \`")"
                     "\n",
                     "X"),
            "$PORT \\ `");
  // POSIX sh keeps the backslash before any other character.
  EXPECT_EQ(value_of(R"(X="a\nb")"
                     "\n",
                     "X"),
            "a\\nb");
}

TEST(ConfFile, SingleQuotesAreLiteral) {
  EXPECT_EQ(value_of("PORT=1\nX='$PORT \\n \"q\" $((1+1))'\n", "X"), "$PORT \\n \"q\" $((1+1))");
}

TEST(ConfFile, UnquotedBackslashEscapesTheNextCharacter) {
  EXPECT_EQ(value_of("X=a\\ b\\$c\n", "X"), "a b$c");
}

TEST(ConfFile, AdjacentPartsFormOneWord) {
  EXPECT_EQ(value_of("A=x\nX=pre\"mid $A\"'$lit'post\n", "X"), "premid x$litpost");
}

TEST(ConfFile, ExpandsKeysSetOnEarlierLines) {
  std::string text =
      "DATA_DIR=/var/kcnd/data\n"
      "LOG_DIR=$DATA_DIR/logs\n"
      "B=${DATA_DIR}x\n"
      "C=\"$DATA_DIR and ${DATA_DIR}\"\n";
  ConfFile f = parse_ok(text);
  EXPECT_EQ(f.find("LOG_DIR")->value, "/var/kcnd/data/logs");
  EXPECT_EQ(f.find("B")->value, "/var/kcnd/datax");
  EXPECT_EQ(f.find("C")->value, "/var/kcnd/data and /var/kcnd/data");
}

TEST(ConfFile, ExpansionUsesTheValueAtThatLine) {
  ConfFile f = parse_ok("P=1\nQ=$P\nP=2\nR=$P\n");
  EXPECT_EQ(f.find("Q")->value, "1");
  EXPECT_EQ(f.find("R")->value, "2");
}

TEST(ConfFile, ArithmeticLikeKaiasSubport) {
  EXPECT_EQ(
      value_of("PORT=32323\nSUBPORT=$((PORT + 1)) # used for multi channel option\n", "SUBPORT"),
      "32324");
}

TEST(ConfFile, ArithmeticPrecedenceParenthesesUnaryAndTruncation) {
  ConfFile f = parse_ok(
      "A=7\n"
      "P=$((1 + 2 * 3))\n"
      "Q=$(( (1 + 2) * 3 ))\n"
      "R=$((-A / 2))\n"
      "S=$(($A*${A} - -1))\n"
      "T=\"port $((A+1))\"\n"
      "U=$((0))\n"
      "V=$((+5 - 10))\n");
  EXPECT_EQ(f.find("P")->value, "7");
  EXPECT_EQ(f.find("Q")->value, "9");
  EXPECT_EQ(f.find("R")->value, "-3");  // truncates toward zero, as bash does
  EXPECT_EQ(f.find("S")->value, "50");
  EXPECT_EQ(f.find("T")->value, "port 8");
  EXPECT_EQ(f.find("U")->value, "0");
  EXPECT_EQ(f.find("V")->value, "-5");
}

TEST(ConfFile, AcceptsExportPrefix) {
  ConfFile f = parse_ok("export PORT=1\nexport\tX=\"y\"\nexport=3\n");
  EXPECT_EQ(f.find("PORT")->value, "1");
  EXPECT_EQ(f.find("X")->value, "y");
  EXPECT_EQ(f.find("export")->value, "3");
}

TEST(ConfFile, LaterAssignmentWinsAndBothAreReported) {
  ConfFile f = parse_ok("PORT=1\nPORT=2\n");
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.find("PORT")->value, "2");
  EXPECT_EQ(f.find("PORT")->line, 2);
  EXPECT_EQ(f.find("NOPE"), nullptr);
}

TEST(ConfFile, DollarThatStartsNothingIsLiteral) {
  EXPECT_EQ(value_of("X=a$\n", "X"), "a$");
  EXPECT_EQ(value_of("X=\"$ /\"\n", "X"), "$ /");
}

// --- errors: each names file:line and the problem ---

TEST(ConfFileErrors, UnterminatedDoubleQuote) {
  Error e = parse_err("PORT=1\n\nRPC_API=\"klay,eth\n");
  EXPECT_EQ(e.code, "conf.unterminated_quote");
  EXPECT_THAT(e.message, StartsWith("t.conf:3: unterminated double quote"));
  EXPECT_THAT(e.message, HasSubstr("column 9"));
}

TEST(ConfFileErrors, UnterminatedSingleQuote) {
  Error e = parse_err("X='abc\n");
  EXPECT_THAT(e.message, StartsWith("t.conf:1: unterminated single quote"));
}

TEST(ConfFileErrors, MissingEqualsIsACommand) {
  Error e = parse_err("# c\necho hello\n");
  EXPECT_EQ(e.code, "conf.syntax");
  EXPECT_THAT(e.message, StartsWith("t.conf:2: expected KEY=VALUE"));
  EXPECT_THAT(e.message, HasSubstr("echo hello"));
  EXPECT_THAT(parse_err("PORT\n").message, StartsWith("t.conf:1: expected KEY=VALUE"));
}

TEST(ConfFileErrors, SpacesAroundEquals) {
  Error e = parse_err("NETWORK = \"cypress\"\n");
  EXPECT_THAT(e.message, StartsWith("t.conf:1: spaces around '='"));
  EXPECT_THAT(e.message, HasSubstr("NETWORK=VALUE"));
  EXPECT_THAT(parse_err("PORT= 1\n").message, StartsWith("t.conf:1: spaces around '='"));
  EXPECT_THAT(parse_err("PORT =1\n").message, StartsWith("t.conf:1: spaces around '='"));
}

TEST(ConfFileErrors, BadKeyNames) {
  Error digit = parse_err("1PORT=3\n");
  EXPECT_EQ(digit.code, "conf.bad_key");
  EXPECT_THAT(digit.message, StartsWith("t.conf:1: invalid key name '1PORT'"));
  Error dash = parse_err("X=1\nPO-RT=3\n");
  EXPECT_EQ(dash.code, "conf.bad_key");
  EXPECT_THAT(dash.message, StartsWith("t.conf:2: invalid key name 'PO-RT'"));
  EXPECT_THAT(parse_err("=3\n").message, StartsWith("t.conf:1: missing key name before '='"));
  EXPECT_THAT(parse_err("A+=3\n").message, HasSubstr("'+=' is not supported"));
}

TEST(ConfFileErrors, UnknownVariableIsNotReadFromTheEnvironment) {
  ::setenv("CC_CONF_TEST_VAR", "from-env", 1);
  Error e = parse_err("A=1\nX=$CC_CONF_TEST_VAR\n");
  EXPECT_EQ(e.code, "conf.unknown_variable");
  EXPECT_THAT(e.message, StartsWith("t.conf:2: unknown variable $CC_CONF_TEST_VAR"));
  EXPECT_THAT(e.message, HasSubstr("environment is not read"));
  EXPECT_THAT(parse_err("X=\"${HOME}\"\n").message, HasSubstr("unknown variable $HOME"));
  // A key set later does not count.
  EXPECT_THAT(parse_err("X=$Y\nY=1\n").message, StartsWith("t.conf:1: unknown variable $Y"));
}

TEST(ConfFileErrors, EmptyVariableWouldSilentlyDropAPathPrefix) {
  // Kaia's packaged file has exactly this shape: LOG_DIR would become "/logs".
  Error e = parse_err("DATA_DIR=\nLOG_DIR=$DATA_DIR/logs\n");
  EXPECT_EQ(e.code, "conf.empty_variable");
  EXPECT_THAT(e.message, StartsWith("t.conf:2: $DATA_DIR at column 9 is empty (set on line 1)"));
}

TEST(ConfFileErrors, BadArithmetic) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"X=$((1/0))\n", "division by zero"},
      {"X=$((1 + 2)\n", "missing '))'"},
      {"X=$((1 +))\n", "missing operand"},
      {"X=$((NOPE + 1))\n", "unknown variable $NOPE"},
      {"A=abc\nX=$((A + 1))\n", "A is \"abc\" (line 1), not an integer"},
      {"X=$((9223372036854775807 + 1))\n", "does not fit in 64 bits"},
      {"X=$((99999999999999999999))\n", "not a decimal integer"},
      {"X=$((010))\n", "leading zero"},
      {"X=$((0x10))\n", "leading zero"},
      {"X=$((7 % 2))\n", "only + - * / are supported"},
      {"X=$((1 2))\n", "expected an operator or '))'"},
      {"X=$((a.b))\n", "unknown variable $a"},
  };
  for (const auto& c : cases) {
    auto r = parse_conf(c.text, "t.conf");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(r.error().message, StartsWith("t.conf:")) << c.text;
    EXPECT_THAT(r.error().message, HasSubstr(c.expect)) << c.text;
  }
  Error e = parse_err("PORT=1\nSUBPORT=$((PORT / 0))\n");
  EXPECT_EQ(e.code, "conf.arithmetic");
  EXPECT_THAT(e.message, StartsWith("t.conf:2: bad arithmetic $((...)) at column 9"));
}

TEST(ConfFileErrors, ArithmeticNestingIsBounded) {
  std::string deep = "X=$((" + std::string(200, '(') + "1" + std::string(200, ')') + "))\n";
  EXPECT_THAT(parse_err(deep).message, HasSubstr("nested too deeply"));
  std::string unary = "X=$((" + std::string(200, '-') + "1))\n";
  EXPECT_THAT(parse_err(unary).message, HasSubstr("nested too deeply"));
}

TEST(ConfFileErrors, CommandSubstitutionIsNeverExecuted) {
  namespace fs = std::filesystem;
  fs::path marker = fs::temp_directory_path() / ("cc-conf-marker-" + std::to_string(::getpid()));
  fs::remove(marker);
  for (std::string text :
       {"X=$(touch " + marker.string() + ")\n", "X=`touch " + marker.string() + "`\n",
        "X=\"$(touch " + marker.string() + ")\"\n", "X=\"`touch " + marker.string() + "`\"\n"}) {
    Error e = parse_err(text);
    EXPECT_EQ(e.code, "conf.command_substitution") << text;
    EXPECT_THAT(e.message, StartsWith("t.conf:1: command substitution"));
    EXPECT_THAT(e.message, HasSubstr("never runs commands"));
  }
  EXPECT_FALSE(fs::exists(marker));
}

TEST(ConfFileErrors, ShellOperatorsAndTextAfterTheValue) {
  EXPECT_THAT(parse_err("X=a;b\n").message, HasSubstr("unquoted ';'"));
  EXPECT_THAT(parse_err("X=a|b\n").message, HasSubstr("unquoted '|'"));
  EXPECT_THAT(parse_err("X=a&\n").message, HasSubstr("unquoted '&'"));
  EXPECT_THAT(parse_err("X=a>b\n").message, HasSubstr("unquoted '>'"));
  Error e = parse_err("ADDITIONAL=--a --b\n");
  EXPECT_THAT(e.message, StartsWith("t.conf:1: unexpected text after the value of ADDITIONAL"));
  EXPECT_THAT(e.message, HasSubstr("ADDITIONAL=\"a b\""));
  EXPECT_EQ(value_of("X=\"a;b|c&d>e\"\n", "X"), "a;b|c&d>e");
}

TEST(ConfFileErrors, RefusedShellForms) {
  EXPECT_THAT(parse_err("X=~/data\n").message, HasSubstr("'~' at column 3"));
  EXPECT_THAT(parse_err("X=/a:~/b\n").message, HasSubstr("'~'"));
  EXPECT_EQ(value_of("X=a~b\n", "X"), "a~b");
  EXPECT_THAT(parse_err("X=$1\n").message, HasSubstr("special shell parameter $1"));
  EXPECT_THAT(parse_err("X=$@\n").message, HasSubstr("special shell parameter $@"));
  EXPECT_THAT(parse_err("A=1\nX=${A:-2}\n").message, HasSubstr("only ${NAME} is supported"));
  EXPECT_THAT(parse_err("X=${A\n").message, HasSubstr("unterminated ${"));
  EXPECT_THAT(parse_err("X=abc\\\nY=1\n").message, HasSubstr("line continuation"));
  EXPECT_THAT(parse_err("export  # x\n").message, HasSubstr("'export' without KEY=VALUE"));
  EXPECT_THAT(parse_err("export\n").message, StartsWith("t.conf:1: expected KEY=VALUE"));
}

TEST(ConfFileErrors, WindowsLineEndingsAndNulBytes) {
  Error crlf = parse_err("PORT=1\r\n");
  EXPECT_THAT(crlf.message, StartsWith("t.conf:1: the line ends with a carriage return"));
  EXPECT_THAT(crlf.message, HasSubstr("dos2unix"));
  Error nul = parse_err(std::string("A=1\nX=a\0b\n", 10));
  EXPECT_THAT(nul.message, StartsWith("t.conf:2: the line contains a NUL byte"));
}

TEST(ConfFileLimits, FileSizeLineLengthAndExpandedValueAreBounded) {
  std::string big(kMaxConfFileBytes + 1, '#');
  EXPECT_EQ(parse_err(big).code, "conf.too_large");

  std::string long_line = "X=" + std::string(kMaxConfLineBytes, 'a') + "\n";
  Error line = parse_err("A=1\n" + long_line);
  EXPECT_EQ(line.code, "conf.line_too_long");
  EXPECT_THAT(line.message, StartsWith("t.conf:2: "));

  // Doubling on each line would reach gigabytes in 30 lines; the value cap stops it.
  std::string text = "A=" + std::string(1000, 'x') + "\n";
  for (int i = 0; i < 30; ++i) text += "A=$A$A\n";
  Error grow = parse_err(text);
  EXPECT_EQ(grow.code, "conf.value_too_long");
}

TEST(ConfFileRead, ReadsAFileAndNamesItInErrors) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("cc-conf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / "kcnd.conf";
  { std::ofstream(p) << "PORT=32323\nSUBPORT=$((PORT + 1))\nBAD\n"; }
  auto r = read_conf_file(p);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, StartsWith(p.string() + ":3: expected KEY=VALUE"));

  auto missing = read_conf_file(dir / "nope.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr((dir / "nope.conf").string()));
  fs::remove_all(dir);
}

TEST(ConfFileKeys, KeyNameRule) {
  EXPECT_TRUE(is_conf_key_name("RPC_PORT"));
  EXPECT_TRUE(is_conf_key_name("_x9"));
  EXPECT_FALSE(is_conf_key_name(""));
  EXPECT_FALSE(is_conf_key_name("9X"));
  EXPECT_FALSE(is_conf_key_name("A-B"));
}

}  // namespace
}  // namespace cc::node
