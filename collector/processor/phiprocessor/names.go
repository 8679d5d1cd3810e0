package phiprocessor

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The name finder of otel_clinic/scrubbing/names.py over the shipped lexicon (names.txt.gz, checked against the
// policy document's sha256). Python keeps 26-bit fingerprints; this keeps the keys (exact lookups).

const (
	lexName  = 1
	lexAmb   = 2
	lexFirst = 4
	lexLast  = 8
	lexTech  = 16
	lexWord  = 32
)

const (
	kParticle = 1 << iota
	kInitial
	kHonorific
	kContext
	kWeak
	kCred
	kKWord
)

var (
	specialWords = map[string]int{}
	contractions = []string{"n't", "'re", "'ll", "'ve", "'m", "'d", "n’t", "’re", "’ll", "’ve", "’m", "’d"}
	nameCamel    = regexp.MustCompile(`^(?:Mc|Mac|Fitz|De|Di|Da|Du|La|Le|Van|Von|St)`)
	gapSpace     = regexp.MustCompile(`^[ \t+]{1,2}$`)
	gapInitial   = regexp.MustCompile(`^(?:\.?[ \t]{1,2}|\.)$`)
	gapComma     = regexp.MustCompile(`^,[ \t]{0,2}$`)
	particles    = map[string]bool{}
	credentials  = map[string]bool{}
)

func init() {
	add := func(words string, kind int, into map[string]bool) {
		for _, w := range strings.Fields(words) {
			specialWords[w] |= kind
			if into != nil {
				into[w] = true
			}
		}
	}
	add("de la le du da di del della dos das do van von der den ten ter bin binti bint ibn al el abu st dei degli zu y", kParticle, particles)
	add("mr mrs ms miss mx dr doctor prof professor sir dame rev sr sra srta herr frau mme mlle madame monsieur senor señor senora señora", kHonorific, nil)
	add("patient pt patients nurse physician provider pcp surgeon clinician attending referring caregiver guardian "+
		"mother father son daughter wife husband spouse sibling brother sister grandmother grandfather aunt uncle "+
		"named dear attn hi hello nok", kContext, nil)
	add("for by to with from and or of about regarding re cc", kWeak, nil)
	add("md rn np pa do dds dmd phd pharmd dnp aprn lpn cna facs mbbs crna msn bsn", kCred, credentials)
}

type nameFinder struct {
	m map[string]uint8
}

// loadLexicon reads names.txt.gz and checks its body against the sha256 the policy document records.
func loadLexicon(path, wantSHA string) (*nameFinder, error) {
	var src io.Reader
	if path == embeddedLexiconPath {
		src = bytes.NewReader(embeddedLexicon)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("phi: name lexicon: %w", err)
		}
		defer f.Close()
		src = f
	}
	gz, err := gzip.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("phi: name lexicon: %w", err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		return nil, fmt.Errorf("phi: name lexicon: %w", err)
	}
	nl := strings.IndexByte(string(raw[:min(len(raw), 4096)]), '\n')
	if nl < 0 || !strings.HasPrefix(string(raw[:nl]), "otel-clinic-names/1 ") {
		return nil, fmt.Errorf("phi: name lexicon %s: unexpected format", path)
	}
	sum := sha256.Sum256(raw[nl+1:])
	if got := hex.EncodeToString(sum[:]); got != wantSHA {
		return nil, fmt.Errorf("phi: name lexicon %s: sha256 %s does not match the policy document (%s)", path, got, wantSHA)
	}
	nf := &nameFinder{m: make(map[string]uint8, 200_000)}
	sc := bufio.NewScanner(strings.NewReader(string(raw[nl+1:])))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	flags := uint8(lexName)
	letters := map[rune]uint8{'A': lexAmb, 'F': lexFirst, 'L': lexLast, 'T': lexTech, 'W': lexWord}
	for sc.Scan() {
		key := sc.Text()
		if strings.HasPrefix(key, "@") {
			flags = lexName
			if strings.Contains(key, "W") {
				flags = 0
			}
			for _, r := range key[1:] {
				b, ok := letters[r]
				if !ok {
					return nil, fmt.Errorf("phi: name lexicon: unknown flag %q", r)
				}
				flags |= b
			}
			continue
		}
		nf.m[key] |= flags
	}
	return nf, sc.Err()
}

func (n *nameFinder) get(key string) int { return int(n.m[key]) }

func (n *nameFinder) lookup(token string) int {
	key := strings.ToLower(token)
	if strings.ContainsAny(key, "'’") {
		for _, c := range contractions {
			if strings.HasSuffix(key, c) {
				return 0
			}
		}
		if strings.HasSuffix(key, "'s") || strings.HasSuffix(key, "’s") {
			_, size := utf8.DecodeLastRuneInString(key[:len(key)-1])
			key = key[:len(key)-1-size]
		}
		key = strings.NewReplacer("'", "", "’", "").Replace(key)
	}
	flags := n.get(key)
	if flags&lexName == 0 && strings.Contains(key, "-") {
		flags = lexName | lexAmb
		for _, part := range strings.Split(key, "-") {
			f := 0
			if utf8.RuneCountInString(part) > 1 {
				f = n.get(part)
			}
			if f&lexName == 0 {
				return 0
			}
			if f&lexAmb == 0 {
				flags &^= lexAmb
			}
			flags |= f & (lexFirst | lexLast)
		}
	}
	return flags
}

func (n *nameFinder) isCommonWord(word string) bool {
	f := n.lookup(word)
	return f&(lexWord|lexTech) != 0 || (f&lexAmb != 0 && pyIsLower(word))
}

// ---------------------------------------------------------------------------------------------- str predicates

func isPyLetter(r rune) bool {
	return unicode.IsLetter(r) || (unicode.IsNumber(r) && !unicode.Is(unicode.Nd, r))
}

func pyIsLower(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsLower(r) {
			cased = true
		}
	}
	return cased
}

func pyIsUpper(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsLower(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsUpper(r) {
			cased = true
		}
	}
	return cased
}

func pyIsTitle(s string) bool {
	cased, prevCased := false, false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			if prevCased {
				return false
			}
			prevCased, cased = true, true
		case unicode.IsLower(r):
			if !prevCased {
				return false
			}
			prevCased, cased = true, true
		default:
			prevCased = false
		}
	}
	return cased
}

func pyIsAlphaAny(s string) bool { return strings.ContainsFunc(s, unicode.IsLetter) }

func firstIsUpper(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && unicode.IsUpper(r)
}

// shape: 'l' lower, 'u' UPPER, 't' Title (O'Brien, Jean-Luc, McDonald), 0 otherwise (CamelCase code).
func shape(tok string) byte {
	if strings.HasSuffix(tok, "'s") {
		tok = tok[:len(tok)-2]
	} else if strings.HasSuffix(tok, "’s") {
		tok = tok[:len(tok)-len("’s")]
	}
	switch {
	case pyIsLower(tok):
		return 'l'
	case pyIsUpper(tok):
		return 'u'
	case pyIsTitle(tok):
		return 't'
	}
	if head, tail, ok := strings.Cut(tok, "-"); ok && pyIsTitle(head) && pyIsLower(strings.ReplaceAll(tail, "-", "")) {
		return 't'
	}
	if m := nameCamel.FindStringIndex(tok); m != nil {
		// (?=[^\W\d_a-z]): a letter that is not ASCII lower case
		for _, alt := range []int{m[1]} {
			r, _ := utf8.DecodeRuneInString(tok[alt:])
			if alt < len(tok) && isPyLetter(r) && !(r >= 'a' && r <= 'z') && pyIsTitle(tok[alt:]) {
				return 't'
			}
		}
		// Python's alternation backtracks: "Mac" after "Mc" failed, "Di"/"Da"/"De" vs longer ones do not overlap
		if strings.HasPrefix(tok, "Mac") && m[1] == 2 {
			r, _ := utf8.DecodeRuneInString(tok[3:])
			if len(tok) > 3 && isPyLetter(r) && !(r >= 'a' && r <= 'z') && pyIsTitle(tok[3:]) {
				return 't'
			}
		}
	}
	return 0
}

// ---------------------------------------------------------------------------------------------- tokens

type span struct{ start, end int }

// findTokens is names.py _TOKEN.finditer (wide=true) or freetext.py _RUN_TOKEN's word part (wide=false: the
// trailing lookahead does not list apostrophes).
func findTokens(text string, wide bool) []span {
	var out []span
	prev := rune(-1)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isPyLetter(r) || isPyWord(prev) || prev == '.' || prev == '@' || prev == '\\' || prev == '-' {
			prev = r
			i += size
			continue
		}
		// candidate ends: after each letter run of the greedy chain, longest first
		var ends []int
		j := i
		for {
			for j < len(text) {
				c, s := utf8.DecodeRuneInString(text[j:])
				if !isPyLetter(c) {
					break
				}
				j += s
			}
			ends = append(ends, j)
			if j >= len(text) {
				break
			}
			c, s := utf8.DecodeRuneInString(text[j:])
			if c != '\'' && c != '’' && c != '-' {
				break
			}
			c2, _ := utf8.DecodeRuneInString(text[j+s:])
			if j+s >= len(text) || !isPyLetter(c2) {
				break
			}
			j += s
		}
		matched := -1
		for k := len(ends) - 1; k >= 0; k-- {
			if tokenLookaheadOK(text, ends[k], wide) {
				matched = ends[k]
				break
			}
		}
		if matched < 0 {
			prev = r
			i += size
			continue
		}
		out = append(out, span{i, matched})
		prev, _ = utf8.DecodeLastRuneInString(text[:matched])
		i = matched
	}
	return out
}

func tokenLookaheadOK(text string, p int, wide bool) bool {
	if p >= len(text) {
		return true
	}
	c, s := utf8.DecodeRuneInString(text[p:])
	if isPyWord(c) || c == '@' || c == '\\' || c == '(' {
		return false
	}
	seps := ".:-"
	if wide {
		seps = ".:-'’"
	}
	if strings.ContainsRune(seps, c) && p+s < len(text) {
		c2, _ := utf8.DecodeRuneInString(text[p+s:])
		if isPyWord(c2) || c2 == '/' {
			return false
		}
	}
	return true
}

type tok struct {
	start, end int
	text       string
	flags      int
	kind       int
	shape      byte
}

func (n *nameFinder) wordFlags(t string) int {
	low := strings.ToLower(t)
	if strings.ContainsAny(low, "'-’") {
		return n.lookup(t)
	}
	return n.get(low)
}

// scan is names.py NameFinder.scan: name spans (slow path only when the fast pass saw a hit) and up to
// unknownLimit words of 4+ letters in no list.
func (n *nameFinder) scan(text string, unknownLimit int) ([]span, []string) {
	if utf8.RuneCountInString(text) < 2 {
		return nil, nil
	}
	found := findTokens(text, true)
	if len(found) == 0 {
		return nil, nil
	}
	state := 0
	prevCap := false
	var unknown []string
	hit := false
	for _, sp := range found {
		t := text[sp.start:sp.end]
		if utf8.RuneCountInString(t) < 2 {
			continue
		}
		f := n.wordFlags(t)
		if f == 0 && utf8.RuneCountInString(t) >= 4 && len(unknown) < unknownLimit {
			unknown = append(unknown, t)
		}
		if hit {
			if len(unknown) >= unknownLimit {
				break
			}
			continue
		}
		if f&lexName != 0 {
			if f&lexAmb == 0 || state == 1 || prevCap || (state == 3 && f&lexLast != 0) {
				hit = true
				continue
			}
			if state == 2 && f&lexFirst != 0 {
				state = 3
			} else {
				state = 0
			}
			prevCap = firstIsUpper(t)
			continue
		}
		k := specialWords[strings.ToLower(t)]
		if k&kCred != 0 && prevCap {
			hit = true
			continue
		}
		switch {
		case k&(kHonorific|kContext) != 0:
			state = 1
		case k&kWeak != 0:
			state = 2
		default:
			state = 0
		}
		prevCap = false
	}
	if hit {
		return n.spansSlow(text), unknown
	}
	return nil, unknown
}

func (n *nameFinder) tokens(text string) []tok {
	var toks []tok
	for _, sp := range findTokens(text, true) {
		t := text[sp.start:sp.end]
		if utf8.RuneCountInString(t) == 1 {
			up := pyIsUpper(t)
			k, sh := 0, byte('l')
			if up {
				k, sh = kInitial, 'u'
			}
			toks = append(toks, tok{sp.start, sp.end, t, 0, k, sh})
			continue
		}
		var sh byte
		switch {
		case pyIsLower(t):
			sh = 'l'
		case pyIsUpper(t):
			sh = 'u'
		default:
			sh = shape(t)
			if sh == 0 {
				toks = append(toks, tok{sp.start, sp.end, t, 0, 0, 0})
				continue
			}
		}
		low := strings.ToLower(t)
		flags := n.wordFlags(t)
		kind := specialWords[low]
		if kind&kCred != 0 && sh == 'l' {
			kind &^= kCred
		}
		if flags&lexWord != 0 {
			kind |= kKWord
		}
		if flags&lexName == 0 {
			flags = 0
		}
		toks = append(toks, tok{sp.start, sp.end, t, flags, kind, sh})
	}
	return toks
}

func (n *nameFinder) spansSlow(text string) []span {
	toks := n.tokens(text)
	nt := len(toks)
	gap := func(i int) byte {
		if i+1 >= nt || i < 0 {
			return 0
		}
		a, b := toks[i], toks[i+1]
		between := text[a.end:b.start]
		switch {
		case between == " " || gapSpace.MatchString(between):
			return 's'
		case a.kind&kInitial != 0 && gapInitial.MatchString(between):
			return 'i'
		case gapComma.MatchString(between):
			return 'c'
		}
		return 0
	}
	nameish := func(i int) bool { return toks[i].flags != 0 || toks[i].kind&(kParticle|kInitial) != 0 }
	compatible := func(i, j int) bool {
		ti, tj := toks[i], toks[j]
		if ti.kind&kInitial != 0 || tj.kind&kInitial != 0 {
			return ti.shape != 'l' && tj.shape != 'l'
		}
		if tj.kind&kParticle != 0 || ti.kind&kParticle != 0 {
			return true
		}
		if ti.flags&lexAmb == 0 && tj.flags&lexAmb == 0 {
			return true
		}
		return (ti.shape == 'l') == (tj.shape == 'l')
	}
	var runs [][]int
	for i := 0; i < nt; {
		if !nameish(i) {
			i++
			continue
		}
		run := []int{i}
		for {
			l := run[len(run)-1]
			if l+1 < nt && nameish(l+1) && (gap(l) == 's' || gap(l) == 'i') && compatible(l, l+1) {
				run = append(run, l+1)
				continue
			}
			break
		}
		i = run[len(run)-1] + 1
		for len(run) > 0 && toks[run[len(run)-1]].kind&kParticle != 0 && toks[run[len(run)-1]].flags&^lexAmb&^lexName == 0 {
			run = run[:len(run)-1]
		}
		for len(run) > 0 && toks[run[0]].kind&kParticle != 0 && toks[run[0]].flags == 0 {
			run = run[1:]
		}
		any := false
		for _, k := range run {
			if toks[k].flags != 0 {
				any = true
			}
		}
		if any {
			runs = append(runs, run)
		}
	}
	seeds := make([]bool, len(runs))
	for r, run := range runs {
		if lonePathSegment(toks, gap, run, text) {
			continue
		}
		for _, k := range run {
			if toks[k].flags != 0 && toks[k].flags&lexAmb == 0 {
				seeds[r] = true
			}
		}
		if !seeds[r] {
			seeds[r] = indicated(toks, gap, run, text)
		}
	}
	for r := 0; r+1 < len(runs); r++ {
		a, b := runs[r], runs[r+1]
		if seeds[r] && seeds[r+1] || b[0] != a[len(a)-1]+1 || gap(a[len(a)-1]) != 'c' {
			continue
		}
		if commaPair(toks, a, b) {
			seeds[r], seeds[r+1] = true, true
		}
	}
	var result []span
	for r, run := range runs {
		if !seeds[r] {
			continue
		}
		run = takeUnknown(toks, gap, run)
		start, end := toks[run[0]].start, toks[run[len(run)-1]].end
		if toks[run[len(run)-1]].kind&kInitial != 0 && strings.HasPrefix(text[end:], ".") {
			end++
		}
		if len(result) > 0 && start <= result[len(result)-1].end {
			start = result[len(result)-1].start
			result = result[:len(result)-1]
		}
		result = append(result, span{start, end})
	}
	return result
}

func takeUnknown(toks []tok, gap func(int) byte, run []int) []int {
	unknown := func(k, ref int) bool {
		t := toks[k]
		if t.flags != 0 || t.kind != 0 || utf8.RuneCountInString(t.text) < 2 || t.shape == 0 {
			return false
		}
		return (t.shape == 'l') == (toks[ref].shape == 'l')
	}
	run = append([]int{}, run...)
	for x := 0; x < 2; x++ {
		k := run[0] - 1
		if k >= 0 && gap(k) == 's' && unknown(k, run[0]) {
			run = append([]int{k}, run...)
		}
	}
	for x := 0; x < 2; x++ {
		k := run[len(run)-1] + 1
		if k < len(toks) && gap(run[len(run)-1]) == 's' && unknown(k, run[len(run)-1]) {
			run = append(run, k)
		}
	}
	return run
}

func commaPair(toks []tok, a, b []int) bool {
	if len(b) > 2 {
		return false
	}
	var s, f *tok
	for i := len(a) - 1; i >= 0; i-- {
		if toks[a[i]].flags != 0 {
			s = &toks[a[i]]
			break
		}
	}
	for _, k := range b {
		if toks[k].flags != 0 {
			f = &toks[k]
			break
		}
	}
	if s == nil || f == nil || s.shape == 'l' || f.shape != s.shape {
		return false
	}
	return (s.flags&lexLast != 0 || s.flags&lexAmb == 0) && (f.flags&lexFirst != 0 || f.flags&lexAmb == 0)
}

// lonePathSegment is names.py _lone_path_segment: one word glued to a '/' on its own ("Europe/Berlin",
// "/static/Jackson/") is a path or zone segment, not a name, unless a name or a word in no list stands next to it
// across a space or comma.
func lonePathSegment(toks []tok, gap func(int) byte, run []int, text string) bool {
	if len(run) != 1 {
		return false
	}
	k := run[0]
	start, end := toks[k].start, toks[k].end
	if !(start > 0 && text[start-1] == '/') && !(end < len(text) && text[end] == '/') {
		return false
	}
	partner := func(j int) bool {
		t := toks[j]
		return t.flags != 0 || (t.kind == 0 && utf8.RuneCountInString(t.text) >= 4 && t.shape != 0)
	}
	if k > 0 && (gap(k-1) == 's' || gap(k-1) == 'c') && partner(k-1) {
		return false
	}
	if k+1 < len(toks) && (gap(k) == 's' || gap(k) == 'c') && partner(k+1) {
		return false
	}
	return true
}

func indicated(toks []tok, gap func(int) byte, run []int, text string) bool {
	var names []int
	for _, k := range run {
		if toks[k].flags != 0 {
			names = append(names, k)
		}
	}
	first, last := run[0], run[len(run)-1]
	var prev *tok
	if first > 0 && (gap(first-1) == 's' || gap(first-1) == 'i') {
		prev = &toks[first-1]
	} else if first > 0 {
		if b := text[toks[first-1].end:toks[first].start]; b == ". " || b == ".  " {
			prev = &toks[first-1]
		}
	}
	if prev != nil {
		low := strings.ToLower(prev.text)
		if prev.kind&kHonorific != 0 {
			if !((low == "ms" || low == "mr" || low == "dr") && prev.shape == 'l' && toks[first].shape == 'l') {
				return true
			}
		}
		if prev.kind&kContext != 0 {
			if toks[first].shape != 'l' || len(names) >= 2 {
				return true
			}
			e := toks[last].end
			after := text[e:min(len(text), e+2)]
			if after == "" || strings.ContainsRune(",.;:)]}'\"", rune(after[0])) || after == " (" {
				return true
			}
		}
		if prev.kind&kWeak != 0 && len(names) >= 2 && toks[names[0]].flags&lexFirst != 0 && toks[names[len(names)-1]].flags&lexLast != 0 {
			return true
		}
	}
	if last+1 < len(toks) && toks[last+1].kind&kCred != 0 && (gap(last) == 'c' || gap(last) == 's') {
		return true
	}
	if len(names) >= 2 && toks[names[0]].shape != 'l' && toks[names[0]].flags&lexFirst != 0 && toks[names[len(names)-1]].flags&lexLast != 0 {
		for _, k := range names {
			if toks[k].shape != toks[names[0]].shape {
				return false
			}
		}
		return true
	}
	return false
}

// isName: the whole value is a person name (1–4 name words plus particles, initials, one comma).
func (n *nameFinder) isName(value string) bool {
	v := strings.TrimFunc(strings.Trim(strings.TrimFunc(value, unicode.IsSpace), `'"`), unicode.IsSpace)
	if nr := utf8.RuneCountInString(v); nr < 2 || nr > 80 {
		return false
	}
	toks := findTokens(v, true)
	if len(toks) == 0 || toks[0].start != 0 || toks[len(toks)-1].end != len(v) {
		return false
	}
	commas := 0
	for i := 0; i+1 < len(toks); i++ {
		a, b := toks[i], toks[i+1]
		between := v[a.end:b.start]
		if gapSpace.MatchString(between) {
			continue
		}
		if gapComma.MatchString(between) && commas == 0 {
			commas++
			continue
		}
		if utf8.RuneCountInString(v[a.start:a.end]) == 1 && gapInitial.MatchString(between) {
			continue
		}
		return false
	}
	lastTok := v[toks[len(toks)-1].start:toks[len(toks)-1].end]
	if strings.HasSuffix(v, ".") && utf8.RuneCountInString(lastTok) != 1 {
		return false
	}
	type nm struct {
		f  int
		sh byte
	}
	var names []nm
	for _, sp := range toks {
		t := v[sp.start:sp.end]
		sh := shape(t)
		if sh == 0 {
			return false
		}
		low := strings.ToLower(t)
		if utf8.RuneCountInString(t) == 1 {
			if sh != 'u' {
				return false
			}
			continue
		}
		f := n.lookup(t)
		if f&lexName != 0 {
			names = append(names, nm{f, sh})
		} else if !particles[low] && !credentials[low] {
			return false
		}
	}
	if len(names) < 1 || len(names) > 4 {
		return false
	}
	if len(names) == 1 {
		x := names[0]
		return !(x.f&lexAmb != 0 && x.f&lexTech != 0 && x.sh == 'l')
	}
	allAmbLower := true
	for _, x := range names {
		if x.f&lexAmb == 0 || x.sh != 'l' {
			allAmbLower = false
		}
	}
	if allAmbLower {
		a, b := names[0], names[len(names)-1]
		if commas > 0 {
			a, b = names[len(names)-1], names[0]
		}
		return a.f&lexFirst != 0 && b.f&lexLast != 0
	}
	return true
}
