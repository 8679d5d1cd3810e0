package phiprocessor

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The free-text filter of otel_clinic/scrubbing/freetext.py, ported rule by rule: after the pattern detectors,
// one left-to-right scan masks dates, identifier-shaped tokens and street addresses by shape, and scans quoted
// literals that hold no letters (numbers, IPs, dates) like free text. Not ported yet (allowlisted in the parity
// test with this reason): the name lexicon (names.py) and the common-word list, and therefore the KEEP/MASK
// verdict on quoted literals with letters in them (kept here) and person names without a context word.
//
// Python's `re` lookbehinds are checks of the previous character at the candidate start; trailing lookaheads are
// a consumed suffix class after a capture group (same match priorities, the filter only looks at what follows).

const (
	pyW    = `\p{L}\p{N}_`                                                                                           // Python's Unicode \w
	pyS    = `\t\n\v\f\r \x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}` // Python's \s
	pyD    = `\p{Nd}`
	month  = `(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?`
	ftDate = `\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{4}\.\d{2}\.\d{2}` +
		`|\d{1,2}[-/]\d{1,2}[-/]\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}` +
		`|\d{1,2}(?:st|nd|rd|th)?[-/ ]` + month + `[-/ ,]{1,2}\d{2,4}` +
		`|` + month + `[S]{1,3}\d{1,2}(?:st|nd|rd|th)?,?[S]{1,3}\d{4}`
	ftTime   = `(?:T|[S]{1,2}|,[S]?|:)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[S]?Z|[S]?[+-]\d{2}:?\d{2}|[S]?UTC)?`
	ftStreet = `(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl)`
)

func pyClass(p string) string {
	p = strings.ReplaceAll(p, `[S]`, `[`+pyS+`]`)
	return strings.ReplaceAll(p, `\d`, pyD)
}

var (
	ftPlaceholder = regexp.MustCompile(`^\[[A-Za-z][A-Za-z_]*(?::[0-9a-fA-F]{6,16})?\]`)
	ftQuotes      = map[rune]*regexp.Regexp{
		'\'': regexp.MustCompile(`^'([^'\n]{0,512})'`),
		'"':  regexp.MustCompile(`^"([^"\n]{0,512})"`),
		'“':  regexp.MustCompile(`^“([^”\n]{0,512})”`),
		'‘':  regexp.MustCompile(`^‘([^’\n]{0,512})’`),
		'«':  regexp.MustCompile(`^«([^»\n]{0,512})»`),
	}
	ftAddr      = regexp.MustCompile(pyClass(`^(?i)((?:\d{1,6}|\?)[S]{1,3}(?:[\p{L}][` + pyW + `'’-]{0,29}[S]{1,3}){1,4}` + ftStreet + `\.?)(?:$|[^` + pyW + `])`))
	ftDateRe    = regexp.MustCompile(pyClass(`^(?i)((?:` + ftDate + `)(` + ftTime + `)?)(?:$|[^` + pyW + `/.:\-]|[.:\-](?:$|[^\d]))`))
	ftTokDigits = regexp.MustCompile(pyClass(`^(\d{2,6}(?:[ -]\d{2,6}){2,7})(?:$|[^A-Za-z0-9_])`))
	ftTokWord   = regexp.MustCompile(`^[A-Za-z0-9_]+(?:[-./#][A-Za-z0-9_]+)*`)
	// What any scan rule needs before it can fire (freetext.py _NEEDS_SCAN): a quote; three digits in a row; a
	// dated digit group; an MBI's head; a number or an obfuscated "?" before a word.
	ftNeedsScan = regexp.MustCompile(pyClass(`['"“‘«]|\d{3}|\d[-/.]\d{1,2}[-/.]\d|[1-9][A-Za-z][A-Za-z0-9]\d|(?:\d|\?)[S]{1,3}[\p{L}]`))

	hexID     = regexp.MustCompile(`^(?i:(?:0x)?[0-9a-f]{16}|(?:0x)?[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|0x[0-9a-f]{1,16}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	versionRe = regexp.MustCompile(pyClass(`^(?i:v?\d{1,4}(?:\.\d{1,4}){1,3}(?:[-+.]?[A-Za-z][A-Za-z0-9.]*)?)$`))
	ssnDotted = regexp.MustCompile(pyClass(`^\d{3}\.\d{2}\.\d{4}$`))
	decimalRe = regexp.MustCompile(pyClass(`^\d+\.\d+$`))
	epochRe   = regexp.MustCompile(pyClass(`^1[5-9]\d{8}(?:\.\d{1,9}|\d{3}|\d{6}|\d{9})$`))
	unitRe    = regexp.MustCompile(pyClass(`^(?i:\d+(?:\.\d+)?(?:ms|s|sec|secs|us|µs|ns|m|min|h|hrs|d|b|kb|kib|mb|mib|gb|gib|tb|px|hz|khz|mhz|ghz|x|rps|qps))$`))
	unitAfter = regexp.MustCompile(pyClass(`^(?i:[S]?(?:ms|s|sec|secs|seconds|second|us|µs|microseconds|ns|minutes|min|mins|hours|h|bytes|byte|b|kb|kib|mb|mib` +
		`|gb|gib|rows|row|items|item|records|record|spans|span|requests|request|req/s|queries|query|times|tasks|task` +
		`|messages|message|events|event|ops|entries|keys|objects|files|lines|chars|characters|points|samples|%))(?:$|[^` + pyW + `])`))
	afterIP       = regexp.MustCompile(pyClass(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}['"]?,[S]?$`))
	roleAfter     = regexp.MustCompile(`^:[A-Z] `)
	afterStatus   = regexp.MustCompile(pyClass(`"[S][1-5]\d\d[S]$`))
	wordBefore    = regexp.MustCompile(`([A-Za-z_]+)[` + pyS + `:=#]{1,3}$`)
	mbiRe         = regexp.MustCompile(pyClass(`^(?i:[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2})$`))
	digitRun      = regexp.MustCompile(pyD + `+`)
	sqlParamAfter = regexp.MustCompile(pyClass(`^(?i:[S]?(?:=|<>|!=|<=|>=|<|>|IN|LIKE)[S]?(?:%s|\?|\$\d|%\([^)]{1,40}\)s))`))
	safeBefore    = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields(`pid ppid tid port line lineno errno thread build version offset size length len count
		total limit timeout attempt retry retries worker workers status code took after elapsed duration in max min maxsize
		bytes uid gid fd seq sequence savepoint process transaction txid xid lsn job connection generation epoch step batch
		chunk queue backlog capacity`) {
		safeBefore[w] = true
	}
}

type freeText struct {
	e     *Engine
	names *nameFinder // nil: names rules off
}

func newFreeText(e *Engine, names *nameFinder) *freeText { return &freeText{e: e, names: names} }

// isPyWord is Python's \w for one rune.
func isPyWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func lastRune(s string) rune {
	if s == "" {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// backRunes is the byte offset n code points before pos (Python's max(0, start - n) on str indices).
func backRunes(s string, pos, n int) int {
	for ; n > 0 && pos > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:pos])
		pos -= size
	}
	return pos
}

func (f *freeText) apply(text string, found *[]uint16, depth int) string {
	if !ftNeedsScan.MatchString(text) {
		return f.maskNames(text, found)
	}
	var out strings.Builder
	wrote := false
	last := 0
	for i := 0; i < len(text); {
		start := i
		end, kind, grp := f.matchAt(text, i)
		if kind == "" {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		i = end
		replacement, has := "", false
		switch kind {
		case "quote":
			inner := text[grp[0]:grp[1]]
			verdict := verdictKeep
			if !codeContext(text, start, end) {
				verdict = f.quoted(inner)
			}
			qo, _ := utf8.DecodeRuneInString(text[start:])
			qc, _ := utf8.DecodeLastRuneInString(text[:end])
			if verdict == verdictMask {
				replacement, has = string(qo)+f.e.token("[REDACTED]", inner)+string(qc), true
				f.e.found(found, "quoted")
			} else if verdict == verdictScan && depth < 3 {
				if scanned := f.apply(inner, found, depth+1); scanned != inner {
					replacement, has = string(qo)+scanned+string(qc), true
				}
			}
		case "date":
			if grp[0] < 0 {
				replacement, has = f.e.token("[DATE]", text[start:end]), true
				f.e.found(found, "date_text")
			}
		case "addr":
			replacement, has = f.e.token("[ADDRESS]", text[start:end]), true
			f.e.found(found, "address_text")
		case "tok":
			value := text[start:end]
			if identifierShaped(value) && !safeNumber(text, start, end, value) {
				replacement, has = f.e.token("[ID]", value), true
				f.e.found(found, "identifier_text")
			}
		}
		if has {
			out.WriteString(text[last:start])
			out.WriteString(replacement)
			last = end
			wrote = true
		}
	}
	if wrote {
		out.WriteString(text[last:])
		text = out.String()
	}
	return f.maskNames(text, found)
}

// matchAt tries freetext.py's _SCAN alternatives at position i, in order: placeholder, quote, address, date, token.
func (f *freeText) matchAt(text string, i int) (int, string, [2]int) {
	c, _ := utf8.DecodeRuneInString(text[i:])
	prev := lastRune(text[:i])
	rest := text[i:]
	none := [2]int{-1, -1}
	if c == '[' {
		if m := ftPlaceholder.FindStringIndex(rest); m != nil {
			return i + m[1], "ph", none
		}
	}
	if re, ok := ftQuotes[c]; ok && !((c == '\'' || c == '"') && (isPyWord(prev) || prev == '\\')) {
		if m := re.FindStringSubmatchIndex(rest); m != nil {
			end := i + m[1]
			if (c != '\'' && c != '"') || !startsWithWord(text[end:]) {
				return end, "quote", [2]int{i + m[2], i + m[3]}
			}
		}
	}
	isDigit := unicode.IsDigit(c)
	if (isDigit || c == '?') && !(isPyWord(prev) || prev == '.' || prev == '-') {
		if m := ftAddr.FindStringSubmatchIndex(rest); m != nil {
			return i + m[3], "addr", none
		}
	}
	if (isDigit || unicode.IsLetter(c)) && !(isPyWord(prev) || strings.ContainsRune(".:/@+-", prev)) {
		if m := ftDateRe.FindStringSubmatchIndex(rest); m != nil {
			g := [2]int{-1, -1}
			if m[4] >= 0 {
				g = [2]int{i + m[4], i + m[5]}
			}
			return i + m[3], "date", g
		}
	}
	if (c < 0x80 && (isASCIIAlnum(byte(c)) || c == '_' || c == '.' || c == '/' || c == '#' || c == '-') || isDigit) &&
		!(prev >= 0 && prev < 0x80 && (isASCIIAlnum(byte(prev)) || prev == '_' || prev == '@' || prev == '%')) {
		// (?=[A-Za-z0-9_./#-]*\d)
		j := i
		ok := false
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if unicode.IsDigit(r) {
				ok = true
				break
			}
			if !(r < 0x80 && (isASCIIAlnum(byte(r)) || strings.ContainsRune("_./#-", r))) {
				break
			}
			j += size
		}
		if ok {
			if m := ftTokDigits.FindStringSubmatchIndex(rest); m != nil {
				return i + m[3], "tok", none
			}
			if m := ftTokWord.FindStringIndex(rest); m != nil {
				return i + m[1], "tok", none
			}
		}
	}
	return 0, "", none
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isPyWord(r)
}

// codeContext: quotes that code writes around code (traceback paths, SQL identifier chains).
func codeContext(text string, start, end int) bool {
	b5 := text[backRunes(text, start, 5):start]
	after2 := text[end:min(len(text), end+2)]
	b2 := text[backRunes(text, start, 2):start]
	return b5 == "File " || after2 == `."` || after2 == ".'" || b2 == `".` || b2 == `'.` ||
		sqlKeywordBefore(text[:start]) ||
		sqlParamAfter.MatchString(text[end:])
}

// sqlKeywordBefore is freetext.py _SQL_BEFORE (\b(?:FROM|JOIN|...)\s$, case-sensitive) at the end of before.
func sqlKeywordBefore(before string) bool {
	ws := lastRune(before)
	if ws < 0 || !strings.ContainsRune(pyS0, ws) && !unicode.IsSpace(ws) {
		return false
	}
	body := before[:len(before)-utf8.RuneLen(ws)]
	for _, kw := range sqlKeywords {
		if strings.HasSuffix(body, kw) && !isPyWord(lastRune(body[:len(body)-len(kw)])) {
			return true
		}
	}
	return false
}

var sqlKeywords = []string{"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "ON", "EXISTS", "INDEX", "SAVEPOINT"}

const pyS0 = "\t\n\v\f\r \x1c\x1d\x1e\x1f\u0085\u00a0"

func isAllDigits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
}

func identifierShaped(value string) bool {
	if utf8.RuneCountInString(value) < 4 {
		return false
	}
	longest, sum := 0, 0
	for _, r := range digitRun.FindAllString(value, -1) {
		n := utf8.RuneCountInString(r)
		sum += n
		longest = max(longest, n)
	}
	if !strings.ContainsFunc(value, unicode.IsLetter) {
		return sum >= 5 && longest >= 3
	}
	if strings.Contains(value, "_") {
		return longest >= 5
	}
	return longest >= 4 || (sum >= 3 && mbiRe.MatchString(value))
}

func safeNumber(text string, start, end int, value string) bool {
	if epochRe.MatchString(value) {
		return true
	}
	if hexID.MatchString(value) || unitRe.MatchString(value) {
		return true
	}
	if decimalRe.MatchString(value) {
		intPart, _, _ := strings.Cut(value, ".")
		if utf8.RuneCountInString(intPart) < 5 {
			return true
		}
	}
	if versionRe.MatchString(value) && !ssnDotted.MatchString(value) {
		return true
	}
	digits := isAllDigits(value)
	if digits && utf8.RuneCountInString(value) <= 7 && lastRune(text[:start]) == '[' && strings.HasPrefix(text[end:], "]") {
		return true
	}
	if start == 0 && digits && roleAfter.MatchString(text[end:]) {
		return true
	}
	if strings.Trim(value, "0") == "" {
		return true
	}
	if p1 := backRunes(text, start, 1); start > 0 && p1 > 0 && text[p1:start] == ":" {
		p2 := lastRune(text[:p1])
		if isPyAlnum(p2) || p2 == ']' {
			port, _, _ := strings.Cut(value, "/")
			if isAllDigits(port) && utf8.RuneCountInString(port) <= 5 {
				if n, err := strconv.Atoi(port); err == nil && n <= 65535 {
					return true
				}
			}
		}
	}
	if digits {
		if unitAfter.MatchString(text[end:]) {
			return true
		}
		if afterIP.MatchString(text[backRunes(text, start, 24):start]) {
			return true
		}
		if afterStatus.MatchString(text[backRunes(text, start, 8):start]) {
			return true
		}
	}
	if m := wordBefore.FindStringSubmatch(text[backRunes(text, start, 24):start]); m != nil && safeBefore[strings.ToLower(m[1])] {
		return true
	}
	return false
}

func isPyAlnum(r rune) bool { return r >= 0 && (unicode.IsLetter(r) || unicode.IsNumber(r)) }
