package phiprocessor

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The name parts of freetext.py: masking name runs, words in no list next to names, and the KEEP / SCAN / MASK
// verdict on quoted literals.

type verdict uint8

const (
	verdictKeep verdict = iota
	verdictScan
	verdictMask
)

var (
	runPlaceholder = regexp.MustCompile(`^\[NAME(?::[0-9a-f]{6,16})?\]`)
	joinRe         = regexp.MustCompile(`^(?: {1,2}|, ?)$`)
	camelRe        = regexp.MustCompile(`[a-z][A-Z]|^[A-Z]{2,}[a-z]`)
	formatOnly     = regexp.MustCompile(`^(?:%(?:\([^)]{1,40}\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]|\{[^{}]{0,40}\}|[` + pyS + `:=,./_-])+$`)
	requestLine    = regexp.MustCompile(`^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT) ([^` + pyS + `?#]+) HTTP/` + pyD + `(?:\.` + pyD + `)?$`)
	codeLiteral    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:[.:]{1,2}[A-Za-z_][A-Za-z0-9_]*)*$`)
	slugRe         = regexp.MustCompile(`^[A-Za-z0-9/.~][A-Za-z0-9._/:@~+-]*$`)
	wordSplit      = regexp.MustCompile(`[-._/:@~+]+`)
	alphaWord      = regexp.MustCompile(`[A-Za-z]+`)
	codeWords      = map[string]bool{}
	nameParticles  = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields(`localhost maxmemory endblock endif endfor endwith endcomment endspaceless endverbatim
		endautoescape endfilter endifchanged endblocktrans elif csrf_token http https ftp ws wss tcp udp tls ssl utf-16 md5 sha1
		sha256 str int float bool bytes dict list tuple set frozenset object type none nonetype function method module null true
		false self cls args kwargs utf-8 get post put patch delete head options default id pk slug format json html xml csv text
		plain ascii utf8 latin-1`) {
		codeWords[w] = true
	}
	for _, w := range strings.Fields("al el bin ibn abu bint de da di du la le van von der den ter") {
		nameParticles[w] = true
	}
}

func (f *freeText) common(w string) bool { return f.names != nil && f.names.isCommonWord(w) }

func (f *freeText) isName(value string) bool { return f.names != nil && f.names.isName(value) }

// runTokens is freetext.py _RUN_TOKEN.finditer: [NAME] placeholders and words.
func runTokens(text string) []span {
	words := findTokens(text, false)
	var out []span
	wi := 0
	for i := 0; i < len(text); {
		if text[i] == '[' {
			if m := runPlaceholder.FindStringIndex(text[i:]); m != nil {
				for wi < len(words) && words[wi].start < i {
					out = append(out, words[wi])
					wi++
				}
				out = append(out, span{i, i + m[1]})
				// words inside the placeholder cannot start there (preceded by '[' is fine, but "NAME" is followed
				// by ']' ... Python's alternation takes the placeholder at this position first)
				for wi < len(words) && words[wi].start < i+m[1] {
					wi++
				}
				i += m[1]
				continue
			}
		}
		i++
	}
	for ; wi < len(words); wi++ {
		out = append(out, words[wi])
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].start < out[b].start })
	return out
}

func (f *freeText) maskNames(text string, found *[]uint16) string {
	if f.names == nil {
		return text
	}
	spans, unknown := f.names.scan(text, 2)
	spans = append(spans, f.unknownRuns(text, spans, unknown)...)
	if len(spans) == 0 {
		return text
	}
	sort.Slice(spans, func(a, b int) bool {
		if spans[a].start != spans[b].start {
			return spans[a].start < spans[b].start
		}
		return spans[a].end < spans[b].end
	})
	spans = mergeRuns(text, spans)
	var out []string
	last := 0
	for _, sp := range spans {
		if sp.start < last {
			if sp.end > last {
				out[len(out)-1] = f.e.token("[NAME]", text[sp.start:sp.end])
				last = sp.end
			}
			continue
		}
		if strings.Contains(text[sp.start:sp.end], "[") {
			continue
		}
		out = append(out, text[last:sp.start], f.e.token("[NAME]", text[sp.start:sp.end]))
		if found != nil {
			f.e.found(found, "name_text")
		}
		last = sp.end
	}
	if len(out) == 0 {
		return text
	}
	out = append(out, text[last:])
	return strings.Join(out, "")
}

func mergeRuns(text string, spans []span) []span {
	merged := []span{spans[0]}
	for _, sp := range spans[1:] {
		p := &merged[len(merged)-1]
		if sp.start <= p.end || joinRe.MatchString(text[p.end:sp.start]) {
			p.end = max(p.end, sp.end)
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

func caseStyle(w string) string {
	switch {
	case pyIsUpper(w):
		return "upper"
	case pyIsLower(w):
		return "lower"
	}
	// Title case per hyphen/apostrophe part: Al-Sayed, O'Brien (freetext.py _case_style)
	parts := strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '\'' || r == '’' })
	if len(parts) == 0 {
		return "mixed"
	}
	for _, p := range parts {
		r, size := utf8.DecodeRuneInString(p)
		if !unicode.IsUpper(r) || (len(p) > size && !pyIsLower(p[size:])) {
			return "mixed"
		}
	}
	return "title"
}

func (f *freeText) unknownRuns(text string, found []span, candidates []string) []span {
	n := f.names
	count := 0
	for _, w := range candidates {
		if f.unknownWord(w) {
			count++
		}
	}
	if count == 0 || (count == 1 && len(found) == 0 && !strings.Contains(text, "[NAME")) {
		return nil
	}
	type rt struct {
		start, end int
		kind       byte
	}
	var toks []rt
	for _, sp := range runTokens(text) {
		word := text[sp.start:sp.end]
		var kind byte
		inFound := false
		for _, fs := range found {
			if fs.start <= sp.start && sp.end <= fs.end {
				inFound = true
				break
			}
		}
		switch {
		case strings.HasPrefix(word, "[NAME"):
			kind = 'N'
		case inFound:
			kind = 'N'
		default:
			flags := -1
			if utf8.RuneCountInString(word) >= 2 {
				flags = n.lookup(word)
			}
			if (flags == 0 || strings.Contains(word, "-") && flags&lexName == 0) && f.unknownWord(word) {
				kind = 'U'
			} else if flags > 0 && flags&lexName != 0 {
				kind = 'A'
			} else {
				kind = 'O'
			}
		}
		toks = append(toks, rt{sp.start, sp.end, kind})
	}
	var spans []span
	for i := 0; i < len(toks); {
		j := i
		for j+1 < len(toks) && toks[j+1].kind != 'O' && toks[j].kind != 'O' && joinRe.MatchString(text[toks[j].end:toks[j+1].start]) {
			j++
		}
		run := toks[i : j+1]
		hasN, countU := false, 0
		styles := map[string]bool{}
		for _, t := range run {
			if t.kind == 'N' {
				hasN = true
			}
			if t.kind == 'U' {
				countU++
				styles[caseStyle(text[t.start:t.end])] = true
			}
		}
		if hasN || (countU >= 2 && len(styles) == 1 && !styles["mixed"]) {
			var seg []int
			for _, t := range append(append([]rt{}, run...), rt{0, 0, 'N'}) {
				if (t.kind == 'U' || t.kind == 'A') && (hasN || t.kind == 'U') {
					if len(seg) == 0 {
						seg = []int{t.start, t.end}
					} else {
						seg = []int{seg[0], t.end}
					}
				} else {
					if len(seg) > 0 {
						spans = append(spans, span{seg[0], seg[1]})
					}
					seg = nil
				}
			}
		}
		i = j + 1
	}
	return spans
}

func (f *freeText) unknownWord(word string) bool {
	n := f.names
	_, size := utf8.DecodeRuneInString(word)
	if utf8.RuneCountInString(word) < 4 || camelRe.MatchString(word[size:]) || (pyIsUpper(word) && utf8.RuneCountInString(word) <= 4) {
		return false
	}
	if f.common(word) {
		return false
	}
	bare := strings.ReplaceAll(word, "’", "'")
	if strings.Contains(bare, "'") {
		return false
	}
	if strings.Contains(bare, "-") {
		var parts []string
		for _, p := range strings.Split(bare, "-") {
			if p != "" {
				parts = append(parts, p)
			}
		}
		anyN, all := false, true
		for _, p := range parts {
			lk := n.lookup(p)
			namely := lk&lexName != 0 || (lk == 0 && !f.common(p))
			if namely {
				anyN = true
			} else if !nameParticles[strings.ToLower(p)] {
				all = false
			}
		}
		return anyN && all
	}
	lowered := strings.ToLower(bare)
	for _, suffix := range []string{"es", "s", "ed", "ing"} {
		if strings.HasSuffix(lowered, suffix) {
			stem := lowered[:len(lowered)-len(suffix)]
			if utf8.RuneCountInString(stem) >= 3 && (n.lookup(stem) != 0 || f.common(stem)) {
				return false
			}
		}
	}
	return true
}

// bareValueIsData: a value on its own that is wholly a name, or words that are neither code nor vocabulary.
func (f *freeText) bareValueIsData(value string) bool {
	stripped := strings.TrimFunc(value, unicode.IsSpace)
	if stripped == "" || !pyIsAlphaAny(stripped) {
		return false
	}
	if f.isName(stripped) {
		return true
	}
	return f.quoted(stripped) == verdictMask
}

func (f *freeText) quoted(inner string) verdict {
	if !pyIsAlphaAny(inner) {
		return verdictScan
	}
	if utf8.RuneCountInString(inner) <= 1 || inner[0] == '\\' {
		return verdictKeep
	}
	if i := strings.LastIndex(inner, ":"); i >= 0 {
		host, port := inner[:i], inner[i+1:]
		if isAllDigits(port) && utf8.RuneCountInString(port) <= 5 && host != "" && !strings.Contains(host, " ") {
			inner = host
		}
	}
	if m := requestLine.FindStringSubmatchIndex(inner); m != nil && utf8.RuneCountInString(inner[m[2]:m[3]]) <= 2000 || formatOnly.MatchString(inner) {
		return verdictKeep
	}
	words := strings.Fields(inner)
	if len(words) == 1 {
		if f.codeWord(inner) {
			return verdictKeep
		}
		return verdictMask
	}
	if f.maskNames(inner, nil) != inner {
		return verdictMask
	}
	if strings.ContainsFunc(inner, unicode.IsDigit) {
		return verdictScan
	}
	if len(words) >= 3 && f.names != nil {
		plain := 0
		for _, w := range alphaWord.FindAllString(inner, -1) {
			if pyIsLower(w) && f.common(w) {
				plain++
			}
		}
		if plain >= 2 {
			return verdictScan
		}
	}
	for _, w := range words {
		if pyIsAlphaAny(w) && !f.codeWord(w) {
			return verdictMask
		}
	}
	return verdictKeep
}

func (f *freeText) codeWord(word string) bool {
	word = strings.Trim(word, ".,;:()[]{}<>!?")
	if word == "" || !pyIsAlphaAny(word) {
		return true
	}
	lowered := strings.ToLower(word)
	if codeWords[lowered] {
		return true
	}
	longest := 0
	for _, r := range digitRun.FindAllString(word, -1) {
		longest = max(longest, utf8.RuneCountInString(r))
	}
	limit := 4
	if strings.Contains(word, "_") || strings.Contains(word, "/") {
		limit = 5
	}
	if longest >= limit || mbiRe.MatchString(word) {
		return false
	}
	var parts []string
	for _, p := range wordSplit.Split(word, -1) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if f.isName(strings.Join(parts, " ")) {
		return false
	}
	if codeLiteral.MatchString(word) && (strings.ContainsAny(word, "_.:") || camelRe.MatchString(word)) {
		return true
	}
	if pyIsUpper(word) && (utf8.RuneCountInString(word) <= 4 || strings.Contains(word, "_") || f.common(lowered)) {
		return true
	}
	if slugRe.MatchString(word) && strings.ContainsAny(word, "-./:@") {
		joined := strings.Join(parts, " ")
		return f.maskNames(joined, nil) == joined
	}
	return f.common(word)
}
