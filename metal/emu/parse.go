package emu

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// This file turns MSL source into C++ the shim can compile. The rewrites
// keep every line where it was (so #line maps diagnostics back to the .metal
// file): [[attributes]] become spaces, unsuffixed floating literals get an
// f suffix (MSL has no double), and threadgroup variables declared in a
// function body become references into the group's shared memory. It also
// finds the kernels and their parameters, from which the entry points are
// generated, and rejects code that Metal would reject but C++ accepts.

type tokKind int

const (
	tIdent tokKind = iota
	tNum
	tStr
	tPunct
)

type token struct {
	kind     tokKind
	text     string
	pos, end int // byte offsets in the source
	line     int
	file     string // from the last line marker, "" before any
	attr     bool   // inside [[...]]
	match    int    // index of the partner of a bracket token, -1 if none
}

// tokenize splits MSL source into tokens, skipping comments and
// preprocessor lines.
func tokenize(src string) []token {
	var toks []token
	line := 1
	file := ""
	bol := true // only whitespace since the start of the line
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			bol = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			end := len(src)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			line += strings.Count(src[i:end], "\n")
			i = end
			continue
		case c == '#' && bol:
			start := i
			for i < len(src) && src[i] != '\n' {
				if src[i] == '\\' && i+1 < len(src) && src[i+1] == '\n' {
					line++
					i++
				}
				i++
			}
			// line markers of preprocessed text: # 12 "gemm.metal" or #line 12 "x"
			if n, f, ok := lineMarker(src[start:i]); ok {
				line = n - 1 // the newline that follows counts
				if f != "" {
					file = f
				}
			}
			continue
		}
		bol = false
		start := i
		var k tokKind
		switch {
		case isIdentStart(c):
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
			k = tIdent
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			for i < len(src) {
				d := src[i]
				if (d == '+' || d == '-') && strings.ContainsRune("eEpP", rune(src[i-1])) && !isHexPrefix(src[start:i]) ||
					(d == '+' || d == '-') && strings.ContainsRune("pP", rune(src[i-1])) {
					i++
					continue
				}
				if !isIdentChar(d) && d != '.' {
					break
				}
				i++
			}
			k = tNum
		case c == '"' || c == '\'':
			i++
			for i < len(src) && src[i] != c && src[i] != '\n' {
				if src[i] == '\\' {
					i++
				}
				i++
			}
			i++
			if i > len(src) {
				i = len(src)
			}
			k = tStr
		default:
			i++
			if i < len(src) && (c == ':' && src[i] == ':' || c == '-' && src[i] == '>') {
				i++
			}
			k = tPunct
		}
		toks = append(toks, token{kind: k, text: src[start:i], pos: start, end: i, line: line, file: file})
	}
	markAttributes(toks)
	matchBrackets(toks)
	return toks
}

// matchBrackets pairs (), [] and {} in one pass (unbalanced ones get -1),
// so later lookups are O(1) even on garbage input.
func matchBrackets(toks []token) {
	open := map[string]string{")": "(", "]": "[", "}": "{"}
	var stack []int
	for i := range toks {
		toks[i].match = -1
		switch tx := toks[i].text; tx {
		case "(", "[", "{":
			if toks[i].kind == tPunct {
				stack = append(stack, i)
			}
		case ")", "]", "}":
			if toks[i].kind == tPunct && len(stack) > 0 && toks[stack[len(stack)-1]].text == open[tx] {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				toks[o].match, toks[i].match = i, o
			}
		}
	}
}

// lineMarker parses "# 12 \"file\"" and "#line 12 \"file\"".
func lineMarker(s string) (int, string, bool) {
	f := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(s, "#"), "line"))
	if len(f) < 1 {
		return 0, "", false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return 0, "", false
	}
	name := ""
	if len(f) >= 2 && len(f[1]) >= 2 && f[1][0] == '"' {
		name = strings.Trim(f[1], `"`)
	}
	return n, name, true
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isHexPrefix(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// markAttributes flags the tokens of every [[...]] (brackets included).
func markAttributes(toks []token) {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].text != "[" || toks[i+1].text != "[" {
			continue
		}
		depth := 0
		j := i
		for ; j < len(toks); j++ {
			switch toks[j].text {
			case "[":
				depth++
			case "]":
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j >= len(toks) {
			return
		}
		for k := i; k <= j; k++ {
			toks[k].attr = true
		}
		i = j
	}
}

// attrGroups returns the contents of the attribute spans starting at or
// after i while tokens are attributes, e.g. [[host_name("x")]] [[kernel]]
// gives {host_name ( "x" )}, {kernel}; and the index after them.
func attrGroups(toks []token, i int) ([][]token, int) {
	var groups [][]token
	for i < len(toks) && toks[i].attr {
		if toks[i].text != "[" || i+1 >= len(toks) || toks[i+1].text != "[" {
			i++ // not the start of a span (a cut-off piece of one)
			continue
		}
		j := i
		depth := 0
		for ; j < len(toks); j++ {
			switch toks[j].text {
			case "[":
				depth++
			case "]":
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j >= len(toks) || j-1 < i+2 {
			return groups, len(toks)
		}
		groups = append(groups, toks[i+2:j-1])
		i = j + 1
	}
	return groups, i
}

// Attribute ids of emu_rt.h (EMU_A_*).
var builtinAttrs = map[string]string{
	"thread_position_in_grid":             "EMU_A_TPIG",
	"thread_position_in_threadgroup":      "EMU_A_TPTG",
	"threadgroup_position_in_grid":        "EMU_A_TGPIG",
	"threads_per_threadgroup":             "EMU_A_TPTGSZ",
	"dispatch_threads_per_threadgroup":    "EMU_A_TPTGSZ",
	"threadgroups_per_grid":               "EMU_A_TGPG",
	"threads_per_grid":                    "EMU_A_TPGRID",
	"thread_index_in_threadgroup":         "EMU_A_TINDEX",
	"thread_index_in_simdgroup":           "EMU_A_LANE",
	"simdgroup_index_in_threadgroup":      "EMU_A_SG",
	"threads_per_simdgroup":               "EMU_A_SIMDW",
	"thread_execution_width":              "EMU_A_SIMDW",
	"simdgroups_per_threadgroup":          "EMU_A_NSG",
	"dispatch_simdgroups_per_threadgroup": "EMU_A_NSG",
	"thread_index_in_quadgroup":           "EMU_A_QLANE",
	"quadgroup_index_in_threadgroup":      "EMU_A_QG",
	"grid_origin":                         "EMU_A_ZERO",
}

type paramKind int

const (
	pBuffer paramKind = iota
	pThreadgroup
	pAttr
)

type param struct {
	name  string
	kind  paramKind
	index int    // buffer/threadgroup index
	attr  string // EMU_A_* for pAttr
}

// kernelFn is a kernel definition: a plain kernel (one entry point) or a
// template whose named instantiations are entry points.
type kernelFn struct {
	name       string
	template   bool
	maxThreads int // [[max_total_threads_per_threadgroup(n)]], 0 if absent
	params     []param
	file       string
	line       int
}

// entry is one entry point: host name and the C++ expression naming the
// function (fn or fn<args>).
type entry struct {
	host, fn, base string
	maxThreads     int
	file           string
	line           int
}

type parsed struct {
	kernels []kernelFn
	entries []entry
	out     string // rewritten source
}

type srcError struct {
	file string
	line int
	msg  string
}

func (e *srcError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

func errAt(file string, t token, format string, a ...any) error {
	if t.file != "" {
		file = t.file
	}
	return &srcError{file, t.line, fmt.Sprintf(format, a...)}
}

// parseSource analyses and rewrites one source file.
func parseSource(file, src string) (*parsed, error) {
	toks := tokenize(src)
	p := &parsed{}
	if err := checkNoDouble(file, toks); err != nil {
		return nil, err
	}
	if err := checkRecursion(file, toks); err != nil {
		return nil, err
	}
	// sentinels at the end, so that lookahead past a truncated declaration
	// finds empty tokens instead of running off the slice
	n := len(toks)
	eof := token{kind: tPunct, pos: len(src), end: len(src), line: strings.Count(src, "\n") + 1, match: -1}
	for k := 0; k < 8; k++ {
		toks = append(toks, eof)
	}
	for i := 0; i < n; i++ {
		t := toks[i]
		isMarker := t.kind == tIdent && t.text == "kernel" && !t.attr
		if !isMarker && t.attr && t.text == "kernel" && i > 0 && i+1 < len(toks) &&
			(toks[i-1].text == "[" || toks[i-1].text == ",") && (toks[i+1].text == "]" || toks[i+1].text == ",") {
			isMarker = true
		}
		if !isMarker {
			continue
		}
		if err := p.kernelAt(file, src, toks, i); err != nil {
			return nil, err
		}
		for i < len(toks) && toks[i].attr {
			i++
		}
	}
	out, err := rewrite(file, src, toks[:n])
	if err != nil {
		return nil, err
	}
	p.out = out
	return p, nil
}

func checkNoDouble(file string, toks []token) error {
	for _, t := range toks {
		if t.kind == tIdent && t.text == "double" {
			return errAt(file, t, "double is not supported by Metal (use float)")
		}
		if t.kind == tNum && isFloatLit(t.text) && strings.ContainsAny(t.text[len(t.text)-1:], "lL") {
			return errAt(file, t, "long double literal %s is not supported by Metal", t.text)
		}
	}
	return nil
}

func isFloatLit(s string) bool {
	if isHexPrefix(s) {
		return strings.ContainsAny(s, "pP")
	}
	return strings.ContainsAny(s, ".eE")
}

// kernelAt parses the kernel declaration whose marker (kernel keyword or
// [[kernel]] attribute token) is at m.
func (p *parsed) kernelAt(file, src string, toks []token, m int) error {
	// Start of the declaration's attributes and markers.
	b := m
	for b > 0 && (toks[b-1].attr || toks[b-1].text == "kernel") {
		b--
	}
	isTemplateDef, isInst := false, false
	if b > 0 && toks[b-1].text == "template" {
		isInst = true
	} else if b > 0 && toks[b-1].text == ">" {
		depth := 0
		for j := b - 1; j >= 0; j-- {
			if toks[j].text == ">" {
				depth++
			} else if toks[j].text == "<" {
				depth--
				if depth == 0 {
					isTemplateDef = j > 0 && toks[j-1].text == "template"
					break
				}
			}
		}
	}
	var attrs [][]token
	i := b
	for i < len(toks) && (toks[i].attr || toks[i].text == "kernel") {
		if toks[i].attr {
			g, j := attrGroups(toks, i)
			attrs = append(attrs, g...)
			i = j
		} else {
			i++
		}
	}
	host := ""
	maxThreads := 0
	for _, g := range attrs {
		for _, a := range splitTop(g) {
			if len(a) >= 4 && a[0].text == "host_name" && a[1].text == "(" && a[len(a)-1].text == ")" {
				// adjacent literals concatenate ("gemm_" "f32" from a macro)
				host = ""
				for _, st := range a[2 : len(a)-1] {
					if st.kind != tStr {
						return errAt(file, a[0], "host_name needs a string literal")
					}
					host += strings.Trim(st.text, `"`)
				}
			}
			if len(a) >= 4 && a[0].text == "max_total_threads_per_threadgroup" {
				n, err := strconv.ParseInt(strings.TrimRight(a[2].text, "uU"), 0, 32)
				if err != nil || n <= 0 || n > 1024 || len(a) != 4 {
					return errAt(file, a[0], "max_total_threads_per_threadgroup needs an integer literal in 1..1024")
				}
				maxThreads = int(n)
			}
		}
	}
	start := toks[i]
	// return type, then name [<targs>] ( params ) or decltype(...) name<targs> ;
	var retType []string
	if i < len(toks) && toks[i].text == "decltype" {
		j := matchParen(toks, i+1)
		if j < 0 {
			return errAt(file, start, "cannot parse kernel declaration")
		}
		i = j + 1
		if i >= len(toks) || toks[i].kind != tIdent {
			return errAt(file, start, "cannot parse kernel declaration")
		}
		name := toks[i].text
		targs, j2, err := templateArgs(file, src, toks, i+1)
		if err != nil {
			return err
		}
		if !isInst || host == "" {
			return errAt(file, start, "decltype kernel declaration must be an explicit instantiation with [[host_name]]")
		}
		p.entries = append(p.entries, entry{host: host, fn: name + "<" + targs + ">", base: name, file: file, line: start.line, maxThreads: maxThreads})
		_ = j2
		return nil
	}
	for lim := i + 64; i < len(toks) && i < lim; i++ { // a return type is short
		t := toks[i]
		if t.attr {
			continue
		}
		if t.kind == tIdent && i+1 < len(toks) && (toks[i+1].text == "(" || toks[i+1].text == "<") {
			break
		}
		retType = append(retType, t.text)
	}
	if i >= len(toks) || toks[i].kind != tIdent {
		return errAt(file, start, "cannot parse kernel declaration")
	}
	name := toks[i].text
	nameTok := toks[i]
	i++
	targs := ""
	if toks[i].text == "<" {
		var err error
		targs, i, err = templateArgs(file, src, toks, i)
		if err != nil {
			return err
		}
	}
	if i >= len(toks) || toks[i].text != "(" {
		return errAt(file, nameTok, "cannot parse kernel %s: expected a parameter list", name)
	}
	if strings.Join(retType, " ") != "void" {
		return errAt(file, nameTok, "kernel %s must return void, not %s", name, strings.Join(retType, " "))
	}
	close := matchParen(toks, i)
	if close < 0 {
		return errAt(file, nameTok, "kernel %s: unbalanced parentheses", name)
	}
	if isInst {
		if host == "" {
			return errAt(file, nameTok, "explicit instantiation of kernel %s needs [[host_name(\"...\")]]", name)
		}
		p.entries = append(p.entries, entry{host: host, fn: name + "<" + targs + ">", base: name, file: file, line: nameTok.line, maxThreads: maxThreads})
		return nil
	}
	params, err := parseParams(file, name, toks[i+1:close])
	if err != nil {
		return err
	}
	k := kernelFn{name: name, template: isTemplateDef, params: params, file: file, line: nameTok.line, maxThreads: maxThreads}
	p.kernels = append(p.kernels, k)
	if !isTemplateDef {
		if host == "" {
			host = name
		}
		p.entries = append(p.entries, entry{host: host, fn: name, base: name, file: file, line: nameTok.line, maxThreads: maxThreads})
	}
	return nil
}

// templateArgs returns the source text between the < at i and its >, and
// the index after the >.
func templateArgs(file, src string, toks []token, i int) (string, int, error) {
	if i >= len(toks) || toks[i].text != "<" {
		return "", i, errAt(file, toks[min(i, len(toks)-1)], "expected template arguments")
	}
	depth := 0
	for j := i; j < len(toks) && j < i+512; j++ {
		switch toks[j].text {
		case "<", "(":
			depth++
		case ">", ")":
			depth--
		}
		if depth == 0 {
			return strings.TrimSpace(src[toks[i].end:toks[j].pos]), j + 1, nil
		}
	}
	return "", i, errAt(file, toks[i], "unbalanced template arguments")
}

func matchParen(toks []token, i int) int {
	if i >= len(toks) || toks[i].text != "(" || toks[i].match >= len(toks) {
		return -1
	}
	return toks[i].match
}

// splitTop splits tokens at top-level commas.
func splitTop(toks []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for j, t := range toks {
		switch t.text {
		case "(", "[", "{", "<":
			depth++
		case ")", "]", "}", ">":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, toks[start:j])
				start = j + 1
			}
		}
	}
	if len(toks) > 0 {
		out = append(out, toks[start:])
	}
	return out
}

var addressSpaces = map[string]bool{"device": true, "constant": true, "threadgroup": true}

func parseParams(file, kname string, toks []token) ([]param, error) {
	var ps []param
	for _, pt := range splitTop(toks) {
		var plain []token
		var attr []token
		for j := 0; j < len(pt); j++ {
			if pt[j].attr {
				g, k := attrGroups(pt, j)
				for _, a := range g {
					attr = append(attr, a...)
				}
				j = k - 1
				continue
			}
			plain = append(plain, pt[j])
		}
		if len(plain) == 0 {
			if len(pt) > 0 {
				return nil, errAt(file, pt[0], "kernel %s: empty parameter", kname)
			}
			continue
		}
		if len(plain) == 1 && plain[0].text == "void" {
			continue
		}
		nameTok := plain[len(plain)-1]
		if nameTok.kind != tIdent {
			return nil, errAt(file, nameTok, "kernel %s: parameter without a name", kname)
		}
		typ := plain[:len(plain)-1]
		indirect, space := false, ""
		for _, t := range typ {
			if t.text == "*" || t.text == "&" {
				indirect = true
			}
			if addressSpaces[t.text] {
				space = t.text
			}
			if t.text == "thread" {
				space = "thread"
			}
		}
		if indirect && (space == "" || space == "thread") {
			return nil, errAt(file, nameTok, "kernel %s: pointer or reference parameter %s needs the device, constant or threadgroup address space", kname, nameTok.text)
		}
		prm := param{name: nameTok.text}
		if len(attr) == 0 {
			return nil, errAt(file, nameTok, "kernel %s: parameter %s has no attribute such as [[buffer(n)]]", kname, nameTok.text)
		}
		a := attr[0].text
		switch {
		case a == "buffer" || a == "threadgroup":
			if len(attr) < 4 || attr[1].text != "(" || attr[2].kind != tNum {
				return nil, errAt(file, nameTok, "kernel %s: parameter %s: expected [[%s(<integer>)]]", kname, nameTok.text, a)
			}
			n, err := strconv.ParseInt(strings.TrimRight(attr[2].text, "uU"), 0, 32)
			if err != nil || n < 0 || n > 30 {
				return nil, errAt(file, nameTok, "kernel %s: parameter %s: bad index %s", kname, nameTok.text, attr[2].text)
			}
			prm.index = int(n)
			if a == "buffer" {
				prm.kind = pBuffer
				if !indirect {
					return nil, errAt(file, nameTok, "kernel %s: [[buffer]] parameter %s must be a pointer or reference", kname, nameTok.text)
				}
			} else {
				prm.kind = pThreadgroup
				if space != "threadgroup" {
					return nil, errAt(file, nameTok, "kernel %s: [[threadgroup]] parameter %s must be a threadgroup pointer", kname, nameTok.text)
				}
			}
		default:
			id, ok := builtinAttrs[a]
			if !ok {
				return nil, errAt(file, nameTok, "kernel %s: parameter %s: attribute %s is not supported by the emulator", kname, nameTok.text, a)
			}
			if indirect {
				return nil, errAt(file, nameTok, "kernel %s: [[%s]] parameter %s must be a value", kname, a, nameTok.text)
			}
			prm.kind, prm.attr = pAttr, id
		}
		ps = append(ps, prm)
	}
	return ps, nil
}

// rewrite produces the C++ text: same lines, attributes blanked, float
// literals suffixed, threadgroup variable declarations redirected into the
// group's shared memory.
func rewrite(file, src string, toks []token) (string, error) {
	type edit struct {
		pos, end int
		text     string
	}
	var edits []edit
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.attr {
			j := i
			for j+1 < len(toks) && toks[j+1].attr {
				j++
			}
			edits = append(edits, edit{t.pos, toks[j].end, blank(src[t.pos:toks[j].end])})
			i = j
			continue
		}
		if t.kind == tIdent && t.text == "constant" && (i+1 < len(toks) && toks[i+1].text == "const" || i > 0 && toks[i-1].text == "const") {
			// constant is const in the shim: avoid "duplicate const"
			edits = append(edits, edit{t.pos, t.end, blank(t.text)})
			continue
		}
		if t.kind == tNum && isFloatLit(t.text) && !strings.ContainsAny(t.text[len(t.text)-1:], "fFhH") {
			edits = append(edits, edit{t.end, t.end, "f"})
			continue
		}
		if t.kind == tIdent && t.text == "threadgroup" && (i == 0 || strings.Contains(";{}", toks[i-1].text) && toks[i-1].kind == tPunct) {
			e, n, err := tgDecl(file, src, toks, i)
			if err != nil {
				return "", err
			}
			if n > 0 {
				// float literals inside the declaration (array sizes) are not expected
				edits = append(edits, e)
				i = n
			}
		}
	}
	sort.Slice(edits, func(a, b int) bool { return edits[a].pos < edits[b].pos })
	var sb strings.Builder
	last := 0
	for _, e := range edits {
		sb.WriteString(src[last:e.pos])
		sb.WriteString(e.text)
		last = e.end
	}
	sb.WriteString(src[last:])
	return sb.String(), nil
}

func blank(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// tgDecl rewrites "threadgroup T name[dims];" at toks[i]; it returns the
// index of the ; or 0 when the statement is not a threadgroup variable
// (e.g. a threadgroup pointer).
func tgDecl(file, src string, toks []token, i int) (struct {
	pos, end int
	text     string
}, int, error) {
	var e struct {
		pos, end int
		text     string
	}
	semi := -1
	depth := 0
	bracket := -1
	for j := i + 1; j < len(toks) && j < i+1024; j++ { // declarations are short
		tx := toks[j].text
		if depth == 0 {
			switch tx {
			case ";":
				semi = j
			case "*", "&", "=", "(", "{":
				return e, 0, nil
			case ",":
				if bracket < 0 {
					return e, 0, errAt(file, toks[j], "emulator: declare one threadgroup variable per statement")
				}
			case "[":
				if bracket < 0 {
					bracket = j
				}
			}
		}
		if semi >= 0 {
			break
		}
		switch tx {
		case "[", "(", "<":
			depth++
		case "]", ")", ">":
			depth--
		}
	}
	if semi < 0 {
		return e, 0, nil
	}
	nameIdx := semi - 1
	dims := ""
	if bracket >= 0 {
		nameIdx = bracket - 1
		dims = src[toks[bracket].pos:toks[semi].pos]
	}
	if nameIdx <= i || toks[nameIdx].kind != tIdent {
		return e, 0, nil
	}
	name := toks[nameIdx].text
	typ := src[toks[i+1].pos:toks[nameIdx].pos]
	orig := src[toks[i].pos:toks[semi].end]
	t := "emu_tgt_" + name
	text := fmt.Sprintf("typedef %s %s %s; static char emu_tgk_%s; %s &%s = *(%s *)emu_tg_static(sizeof(%s), alignof(%s), &emu_tgk_%s, \"%s\");",
		strings.TrimSpace(typ), t, dims, name, t, name, t, t, t, name, name)
	text += strings.Repeat("\n", strings.Count(orig, "\n")-strings.Count(text, "\n"))
	e.pos, e.end, e.text = toks[i].pos, toks[semi].end, text
	return e, semi, nil
}

var notFunctions = map[string]bool{
	"if": true, "for": true, "while": true, "switch": true, "return": true, "sizeof": true,
	"alignof": true, "decltype": true, "static_assert": true, "catch": true, "do": true,
}

// checkRecursion rejects functions that call themselves, directly or
// through others. Functions are identified by name and number of arguments;
// a name overloaded with the same arity is skipped (it cannot be resolved
// without types).
func checkRecursion(file string, toks []token) error {
	type fnKey struct {
		name  string
		arity int
	}
	type fnDef struct {
		line  token
		calls []fnKey
	}
	defs := map[fnKey][]*fnDef{}
	for i := 0; i < len(toks); i++ {
		if toks[i].text != "{" || i == 0 {
			continue
		}
		// find ")" before "{", allowing const/noexcept/attributes
		j := i - 1
		for j >= 0 && (toks[j].attr || toks[j].text == "const" || toks[j].text == "noexcept" || toks[j].text == "thread" || toks[j].text == "device" || toks[j].text == "constant" || toks[j].text == "threadgroup") {
			j--
		}
		if j < 0 || toks[j].text != ")" {
			continue
		}
		open := toks[j].match
		if open < 1 || toks[open-1].kind != tIdent || notFunctions[toks[open-1].text] {
			continue
		}
		name := toks[open-1]
		key := fnKey{name.text, arity(toks[open+1 : j])}
		// body
		end := toks[i].match
		if end < 0 {
			end = len(toks)
		}
		d := &fnDef{line: name}
		for k := i + 1; k < end; k++ {
			if toks[k].kind == tIdent && k+1 < end && toks[k+1].text == "(" && !notFunctions[toks[k].text] &&
				toks[k-1].text != "." && toks[k-1].text != "->" {
				c := matchParen(toks, k+1)
				if c < 0 {
					continue
				}
				d.calls = append(d.calls, fnKey{toks[k].text, arity(toks[k+2 : c])})
			}
		}
		defs[key] = append(defs[key], d)
		i = end
	}
	state := map[fnKey]int{} // 1 visiting, 2 done
	var path []string
	var visit func(k fnKey) error
	visit = func(k fnKey) error {
		ds := defs[k]
		if len(ds) != 1 {
			return nil
		}
		switch state[k] {
		case 1:
			return errAt(file, ds[0].line, "recursion is not supported by Metal: %s -> %s", strings.Join(path, " -> "), k.name)
		case 2:
			return nil
		}
		state[k] = 1
		path = append(path, k.name)
		for _, c := range ds[0].calls {
			if err := visit(c); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[k] = 2
		return nil
	}
	keys := make([]fnKey, 0, len(defs))
	for k := range defs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		return keys[a].name < keys[b].name || keys[a].name == keys[b].name && keys[a].arity < keys[b].arity
	})
	for _, k := range keys {
		if err := visit(k); err != nil {
			return err
		}
	}
	return nil
}

func arity(args []token) int {
	if len(args) == 0 || len(args) == 1 && args[0].text == "void" {
		return 0
	}
	return len(splitTop(args))
}

// entryCode generates the entry points of one translation unit. params maps
// a kernel function name to its parameters (from its definition).
func entryCode(entries []entry, defs map[string]kernelFn) (string, error) {
	var sb strings.Builder
	sb.WriteString("\nnamespace {\n")
	for i, e := range entries {
		k, ok := defs[e.base]
		if !ok {
			return "", &srcError{e.file, e.line, fmt.Sprintf("instantiation %s: no kernel template %s", e.host, e.base)}
		}
		n := len(k.params)
		fmt.Fprintf(&sb, "emu_param emu_ps_%d[%d] = {", i, max(n, 1))
		for j, p := range k.params {
			if j > 0 {
				sb.WriteString(", ")
			}
			switch p.kind {
			case pBuffer:
				fmt.Fprintf(&sb, "{EMU_K_BUF, %d, 0, 0}", p.index)
			case pThreadgroup:
				fmt.Fprintf(&sb, "{EMU_K_TG, %d, 0, 0}", p.index)
			default:
				fmt.Fprintf(&sb, "{EMU_K_ATTR, %s, 0, 0}", p.attr)
			}
		}
		if n == 0 {
			sb.WriteString("{0, 0, 0, 0}")
		}
		sb.WriteString("};\n")
		fmt.Fprintf(&sb, "void emu_e_%d(const emu_thread *t) { ::metal::emu_invoke(&%s, t, emu_ps_%d); }\n", i, e.fn, i)
		mt := e.maxThreads
		if mt == 0 {
			mt = k.maxThreads
		}
		fmt.Fprintf(&sb, "int emu_r_%d = ::metal::emu_register_kernel<%d>(%q, %q, &%s, emu_ps_%d, &emu_e_%d, %d);\n", i, n, e.host, e.file, e.fn, i, i, mt)
	}
	sb.WriteString("}\n")
	return sb.String(), nil
}
