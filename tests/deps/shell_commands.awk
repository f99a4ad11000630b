# tests/deps/shell_commands.awk — prints the programs a shell text runs, one "NAME<TAB>FILE:LINE"
# per command word (used by check_programs.sh). Input: shell script lines (a Makefile's recipes
# and the docs' sh blocks are turned into such lines first). FILE is -v file=...
#
# A command word is the first word of a simple command after the separators | & ; ( ) { } and
# newline, inside $( ) substitutions (also within double quotes), after leading VAR=value
# assignments, redirections, keywords (if/then/do/...), and after the wrappers that run another
# program (exec, nice, timeout, env, xargs, sudo; the wrapper is a program too). Quoted text,
# comments, heredoc bodies, arithmetic, case patterns, [[ ]] tests and for/case word lists are
# data, not commands. Words with $ or / (variables, paths such as ./quickstart.sh) are not
# programs looked up on PATH and are left out, as are functions the file defines and builtins.
# A heuristic for the scripts of this project, not a shell parser.

function is_builtin(w) {
  return w ~ /^(alias|bg|bind|break|builtin|caller|cd|command|compgen|complete|continue|declare|dirs|disown|echo|enable|eval|exit|export|false|fc|fg|getopts|hash|help|history|jobs|let|local|logout|mapfile|popd|printf|pushd|pwd|read|readarray|readonly|return|set|shift|shopt|source|suspend|test|times|trap|true|type|typeset|ulimit|umask|unalias|unset|wait|kill|\.|:)$/
}
function is_keyword(w) {
  return w ~ /^(if|then|else|elif|fi|do|done|while|until|esac|function|time|!|\{|\}|in)$/
}

# Turns one line into its "code" (quoted text dropped, substitutions kept between ';'), carrying
# the quoting state across lines in the stack st[1..sp]: C = code at top level or inside $( )
# (depth pd[sp]), S = single quotes, D = double quotes, A = arithmetic $(( )), R = an array
# literal NAME=( ... ).
function code_of(line,    out, i, c, n, top, nx) {
  out = ""
  n = length(line)
  for (i = 1; i <= n; i++) {
    c = substr(line, i, 1)
    nx = substr(line, i + 1, 1)
    top = st[sp]
    if (top == "S") {
      if (c == "'") sp--
      continue
    }
    if (top == "R") {   # an array literal's words are data
      if (c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t]/)) break
      if (c == "'") st[++sp] = "S"
      else if (c == "\"") st[++sp] = "D"
      else if (c == ")") sp--
      continue
    }
    if (top == "A") {
      if (c == "(") pd[sp]++
      else if (c == ")") { pd[sp]--; if (pd[sp] < 0) { sp--; i++ } }
      continue
    }
    if (top == "D") {
      if (c == "\\") { i++; continue }
      if (c == "\"") { sp--; continue }
      if (c == "$" && nx == "(") {
        if (substr(line, i + 2, 1) == "(") { st[++sp] = "A"; pd[sp] = 0; i += 2; continue }
        out = out ";"; st[++sp] = "C"; pd[sp] = 0; i++; continue
      }
      continue
    }
    # code
    if (c == "\\") { i++; out = out "x"; continue }
    if (c == "'") { st[++sp] = "S"; out = out "$Q"; continue }
    if (c == "\"") { st[++sp] = "D"; out = out "$Q"; continue }
    if (c == "(" && substr(line, i - 1, 1) == "=") { st[++sp] = "R"; continue }
    if (c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t;|&(]/)) break
    if (c == "$" && nx == "(") {
      if (substr(line, i + 2, 1) == "(") { st[++sp] = "A"; pd[sp] = 0; i += 2; out = out "N"; continue }
      out = out ";"; st[++sp] = "C"; pd[sp] = 0; i++; continue
    }
    if (c == "(" && nx == "(") { st[++sp] = "A"; pd[sp] = 0; i++; continue }
    if (c == "(") { if (sp > 1) pd[sp]++; out = out ";"; continue }
    if (c == ")") {
      if (sp > 1 && pd[sp] == 0) { sp--; out = out ";"; continue }
      if (sp > 1) pd[sp]--
      out = out ";"; continue
    }
    if (c == "`") { out = out ";"; continue }
    out = out c
  }
  return out
}

function skip_options(toks, k, nt, with_arg,    t) {
  # skips -x options (and the argument of those in with_arg) starting at k; returns the new k
  while (k <= nt && toks[k] ~ /^-/) {
    t = toks[k]; k++
    if (t ~ with_arg && k <= nt) k++
  }
  return k
}

function emit_segment(seg, where,    toks, nt, k, w) {
  nt = split(seg, toks, /[ \t]+/)
  k = 1
  while (k <= nt && toks[k] == "") k++
  while (k <= nt) {
    w = toks[k]
    if (w == "") { k++; continue }
    if (w ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=/) { k++; continue }   # assignment
    if (w ~ /^[0-9]*(>|<|>>|<<|>&|<&|&>)/) { if (w ~ /^[0-9]*(>|<|>>|>&|<&|&>)$/) k++; k++; continue }
    if (is_keyword(w)) { k++; continue }
    break
  }
  if (k > nt) return
  w = toks[k]
  if (w == "[[" || w == "[" || w == "for" || w == "case" || w == "select" || w == "local" || \
      w == "declare" || w == "export" || w == "readonly") return
  if (w == "command" || w == "type" || w == "hash") return   # `command -v X` looks, it does not run X
  while (1) {
    if (w == "exec" || w == "builtin") { k++; }
    else if (w == "nice") { print w "\t" where; k = skip_options(toks, k + 1, nt, "^-n$"); }
    else if (w == "nohup" || w == "setsid" || w == "sudo" || w == "$SUDO") {
      if (w !~ /\$/) print w "\t" where; k = skip_options(toks, k + 1, nt, "^-[ug]$"); }
    else if (w == "timeout") { print w "\t" where; k = skip_options(toks, k + 1, nt, "^-[sk]$") + 1; }
    else if (w == "env") {
      print w "\t" where; k = skip_options(toks, k + 1, nt, "^-[uC]$")
      while (k <= nt && toks[k] ~ /^[A-Za-z_][A-Za-z0-9_]*=/) k++
    }
    else if (w == "xargs") { print w "\t" where; k = skip_options(toks, k + 1, nt, "^-[PnILdsaE]$"); }
    else break
    if (k > nt) return
    w = toks[k]
  }
  if (w ~ /[$\/]/ || w !~ /^[A-Za-z][A-Za-z0-9._+-]*$/) return
  if (is_builtin(w) || is_keyword(w) || (w in funcs)) return
  print w "\t" where
}

BEGIN { sp = 1; st[1] = "C"; pd[1] = 0; heredoc = ""; pending = ""; in_case = 0; acc = ""; acc_nr = 0 }

# Pass 1 (the file is given twice): the functions the file defines are not programs.
NR == FNR {
  if (match($0, /^[ \t]*(function[ \t]+)?[A-Za-z_][A-Za-z0-9_-]*[ \t]*\(\)/)) {
    name = substr($0, RSTART, RLENGTH); sub(/^[ \t]*(function[ \t]+)?/, "", name); sub(/[ \t]*\(\)$/, "", name)
    funcs[name] = 1
  }
  next
}

{
  if (heredoc != "") {
    t = $0; sub(/^\t+/, "", t)
    if (t == heredoc) heredoc = ""
    next
  }
  line = $0
  if (pending != "") { line = pending " " line; pending = ""; start_nr = start_nr } else start_nr = FNR
  if (line ~ /\\$/ && st[sp] == "C") { pending = substr(line, 1, length(line) - 1); next }
  code = acc code_of(line)
  # a quoted string, array or arithmetic still open: the command goes on on the next line
  if (st[sp] != "C") { acc = code " "; if (acc_nr == 0) acc_nr = start_nr; next }
  if (acc_nr != 0) { start_nr = acc_nr; acc_nr = 0 }
  acc = ""
  if (match(code, /<<-?[ \t]*(\$Q)?[A-Za-z_][A-Za-z0-9_]*/)) {
    h = substr(code, RSTART, RLENGTH); sub(/^<<-?[ \t]*(\$Q)?/, "", h)
    # a quoted delimiter left its quotes in the dropped text; the word follows them
    heredoc_next = h
  } else heredoc_next = ""
  # case ... esac: a pattern line "pat|pat)" is data up to its ')'
  if (code ~ /(^|[ \t;])case[ \t]/) in_case++
  if (in_case > 0 && match(line, /^[ \t]*[^()"'`$]*[^ \t()]\)/) && line !~ /^[ \t]*[A-Za-z_]+=\$?\(/) {
    code = code_of_patternless(line)
  }
  if (code ~ /(^|[ \t;])esac([ \t;]|$)/ && in_case > 0) in_case--
  n = split(code, segs, /[|&;{}]|\n/)
  for (s = 1; s <= n; s++) emit_segment(segs[s], file ":" start_nr)
  if (heredoc_next != "") heredoc = heredoc_next
}

# The code of a case-pattern line after its pattern's ')' (the quoting state was already advanced
# by code_of on the whole line, so re-run it on the rest with the same starting state is not
# possible; patterns here never contain quotes, so the rest is scanned from the code state).
function code_of_patternless(line,    rest, save_sp) {
  rest = line
  sub(/^[ \t]*[^()"'`$]*[^ \t()]\)/, "", rest)
  save_sp = sp; sp = 1
  rest = code_of(rest)
  sp = save_sp
  return rest
}
