package phiprocessor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	re2 "github.com/wasilibs/go-re2"
)

// Limits of engine.py.
const (
	rejectionBudget = 512  // rejected candidates re-scanned from their next character, per value
	candidateBudget = 1024 // detector candidates examined per value: bounds the worst-case CPU
	cacheMaxLen     = 512  // only short strings are memoised
	memoMax         = 8192
	maxDepth        = 32
	maxItems        = 2000
)

type detector struct {
	name        string
	placeholder string
	boundary    string
	validator   *validatorSpec
	trim        string
	rewrite     string
	valueGroup  int // capture group of the value in the combined pattern
	keyed       bool
	hitIdx      int
}

// Engine is the compiled policy: one combined RE2 pattern for every detector, key rules, caps.
type Engine struct {
	doc       *PolicyDocument
	detectors []detector
	prefilter *re2.Regexp // the alternation without capture groups: "is there a match, where"
	regex     *re2.Regexp // the same alternation with groups: which detector, where is the value
	keys      *KeyRules
	maxBytes  int
	hmacKey   []byte
	redacted  string
	truncated string
	freeText  *freeText
	hitNames  []string
	hitIndex  map[string]int
	textMemo  memo
}

// NewEngine compiles a validated policy document. hmacKey is required when the document says "hmac";
// lexiconPath (the name lexicon, checked against the document's sha256) when its free-text rules include names.
func NewEngine(doc *PolicyDocument, hmacKey []byte, lexiconPath string) (*Engine, error) {
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	if doc.Replacement == "hmac" && len(hmacKey) == 0 {
		return nil, fmt.Errorf("phi: the policy replaces values with HMAC pseudonyms but no key is configured (hmac_key_env)")
	}
	e := &Engine{doc: doc, keys: newKeyRules(doc.Keys), maxBytes: doc.MaxValueBytes, redacted: doc.Placeholders["redacted"],
		truncated: doc.Placeholders["truncated"], hitIndex: map[string]int{}}
	if doc.Replacement == "hmac" {
		e.hmacKey = hmacKey
	}
	var parts, full []string
	next := 1
	for _, d := range doc.Detectors {
		vre, err := re2.Compile(d.Value)
		if err != nil {
			return nil, fmt.Errorf("phi: detector %q: value pattern: %w", d.Name, err)
		}
		det := detector{name: d.Name, placeholder: d.Placeholder, keyed: d.Name == "keyed_value" || d.Name == "keyed_exact"}
		if d.Boundary != nil {
			det.boundary = *d.Boundary
		}
		if d.Trim != nil {
			det.trim = *d.Trim
		}
		if d.Rewrite != nil {
			det.rewrite = *d.Rewrite
		}
		det.validator, _ = parseValidator(d.Validator)
		if d.Prefix != "" {
			pre, err := re2.Compile(d.Prefix)
			if err != nil {
				return nil, fmt.Errorf("phi: detector %q: prefix pattern: %w", d.Name, err)
			}
			parts = append(parts, "("+d.Prefix+")("+d.Value+")")
			full = append(full, "(?:"+d.Prefix+")(?:"+d.Value+")")
			det.valueGroup = next + 1 + pre.NumSubexp()
			next += 2 + pre.NumSubexp() + vre.NumSubexp()
		} else {
			parts = append(parts, "("+d.Value+")")
			full = append(full, "(?:"+d.Value+")")
			det.valueGroup = next
			next += 1 + vre.NumSubexp()
		}
		det.hitIdx = e.hitID(d.Name)
		e.detectors = append(e.detectors, det)
	}
	var err error
	if e.regex, err = re2.Compile(strings.Join(parts, "|")); err != nil {
		return nil, fmt.Errorf("phi: combined pattern: %w", err)
	}
	if e.prefilter, err = re2.Compile(strings.Join(full, "|")); err != nil {
		return nil, fmt.Errorf("phi: combined prefilter: %w", err)
	}
	for _, n := range []string{"key", "url", "sql", "truncated", "scrub_error", "span_name", "quoted", "date_text", "address_text", "identifier_text", "name_text"} {
		e.hitID(n)
	}
	if doc.FreeText.Enabled {
		var names *nameFinder
		for _, r := range doc.FreeText.Rules {
			if r != "names" {
				continue
			}
			if lexiconPath == "" {
				return nil, fmt.Errorf("phi: the policy's free-text rules need the name lexicon (%s): set name_lexicon_file", doc.FreeText.NameLexicon.File)
			}
			if names, err = loadLexicon(lexiconPath, doc.FreeText.NameLexicon.SHA256); err != nil {
				return nil, err
			}
		}
		e.freeText = newFreeText(e, names)
	}
	return e, nil
}

func (e *Engine) hitID(name string) int {
	if i, ok := e.hitIndex[name]; ok {
		return i
	}
	e.hitIndex[name] = len(e.hitNames)
	e.hitNames = append(e.hitNames, name)
	return len(e.hitNames) - 1
}

// HitNames are the detector and rule names that redaction counts are kept for.
func (e *Engine) HitNames() []string { return e.hitNames }

// Hits counts replacements per detector / rule (index = Engine.HitNames()).
type Hits []int64

func (e *Engine) NewHits() Hits { return make(Hits, len(e.hitNames)) }

func (h Hits) add(i int) {
	if h != nil {
		h[i]++
	}
}

func (h Hits) Total() int64 {
	var t int64
	for _, v := range h {
		t += v
	}
	return t
}

// ---------------------------------------------------------------------------------------------- memo

type memoEntry struct {
	out  string
	hits []uint16
}

// memo is a bounded map (cleared when full): telemetry values repeat heavily.
type memo struct {
	mu sync.RWMutex
	m  map[string]memoEntry
}

func (m *memo) get(k string) (memoEntry, bool) {
	m.mu.RLock()
	v, ok := m.m[k]
	m.mu.RUnlock()
	return v, ok
}

func (m *memo) put(k string, v memoEntry) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= memoMax {
		m.m = make(map[string]memoEntry, 1024)
	}
	m.m[k] = v
	m.mu.Unlock()
}

// ---------------------------------------------------------------------------------------------- text

// ScrubText scrubs one string; hits (may be nil) counts replacements. Never panics: failures fail closed.
func (e *Engine) ScrubText(text string, hits Hits) (out string) {
	if len(text) <= cacheMaxLen {
		if v, ok := e.textMemo.get(text); ok {
			for _, h := range v.hits {
				hits.add(int(h))
			}
			return v.out
		}
	}
	var local []uint16
	defer func() {
		if r := recover(); r != nil {
			hits.add(e.hitIndex["scrub_error"])
			out = e.redacted
		}
	}()
	out = e.scrubTextUncached(text, &local)
	for _, h := range local {
		hits.add(int(h))
	}
	if len(text) <= cacheMaxLen {
		e.textMemo.put(text, memoEntry{out: out, hits: local})
	}
	return out
}

func (e *Engine) found(f *[]uint16, name string) {
	if i, ok := e.hitIndex[name]; ok {
		*f = append(*f, uint16(i))
		return
	}
	*f = append(*f, uint16(e.hitIndex["scrub_error"]))
}

func (e *Engine) scrubTextUncached(text string, found *[]uint16) string {
	truncated := false
	if len(text) > e.maxBytes {
		text = truncateText(text, e.maxBytes)
		truncated = true
		e.found(found, "truncated")
	}
	stripped := strings.TrimFunc(text, unicode.IsSpace)
	if !truncated && len(stripped) >= 2 && (stripped[0] == '{' || stripped[0] == '[') &&
		(stripped[len(stripped)-1] == '}' || stripped[len(stripped)-1] == ']') {
		if parsed, ok := parseJSON(stripped); ok {
			h := e.NewHits()
			cleaned := e.walk(parsed, nil, h, 0)
			if h.Total() == 0 {
				return text
			}
			for i, c := range h {
				for ; c > 0; c-- {
					*found = append(*found, uint16(i))
				}
			}
			return dumpJSON(cleaned)
		}
	}
	if e.freeText != nil && looksLikeTraceback(text) {
		return scrubStacktrace(text, func(s string) string { return e.ScrubText(s, nil) }, func(s string) string { return e.scrubCode(s, nil) })
	}
	out := e.applyDetectors(text, found, false)
	if e.freeText != nil {
		out = e.freeText.apply(out, found, 0)
	}
	if truncated {
		out += e.truncated
	}
	return out
}

func (e *Engine) scrubCode(text string, hits Hits) (out string) {
	defer func() {
		if r := recover(); r != nil {
			hits.add(e.hitIndex["scrub_error"])
			out = e.redacted
		}
	}()
	var f []uint16
	out = e.applyDetectors(text, &f, true)
	for _, h := range f {
		hits.add(int(h))
	}
	return out
}

// truncateText is engine.py _truncate: cut at the cap, then drop the last partial token.
func truncateText(text string, maxBytes int) string {
	cut := text[:maxBytes]
	for len(cut) > 0 && !utf8.ValidString(cut[max(0, len(cut)-4):]) {
		cut = cut[:len(cut)-1]
	}
	r := []rune(cut)
	from := len(r) - 128
	tail := -1
	for i := len(r) - 1; i >= 0 && i >= from; i-- {
		if r[i] == ' ' || r[i] == '\n' {
			tail = i
			break
		}
	}
	if tail > 0 {
		return string(r[:tail])
	}
	return string(r[:max(0, len(r)-32)])
}

func (e *Engine) applyDetectors(text string, found *[]uint16, code bool) string {
	loc := e.prefilter.FindStringIndex(text)
	if loc == nil {
		return text
	}
	n := len(text)
	m := e.locate(text, loc[0], loc[1])
	var out strings.Builder
	wrote := false
	last := 0
	budget := rejectionBudget
	candidates := 0
	for m != nil {
		candidates++
		if candidates > candidateBudget {
			e.found(found, "truncated")
			out.WriteString(text[last:m[0]])
			out.WriteString(e.truncated)
			wrote = true
			last = n
			break
		}
		start, end := m[0], m[1]
		idx := 0
		for i := range e.detectors {
			g := e.detectors[i].valueGroup
			if m[2*g] >= 0 {
				idx = i
				break
			}
		}
		det := &e.detectors[idx]
		vs, ve := m[2*det.valueGroup], m[2*det.valueGroup+1]
		value := text[vs:ve]
		ok := boundaryOK(text, start, end, det.boundary) && validate(det.validator, value)
		if code && det.keyed {
			ok = false
		}
		replacement, has := "", false
		keep := len(value)
		if ok && det.trim != "" {
			keep = nameLength(value)
			ok = keep > 0
		}
		cut := end
		vstart := end - len(value)
		if ok && keep < len(value) {
			e.found(found, det.name)
			replacement, has = e.token(det.placeholder, value[:keep]), true
			cut = vstart + keep
		} else if ok {
			if det.rewrite != "" {
				replacement, has = rewrite(det.rewrite, value), true
				if replacement != value {
					e.found(found, det.name)
				}
			} else {
				e.found(found, det.name)
				replacement, has = e.token(det.placeholder, value), true
			}
		} else if det.name == "card" && !isASCIIAlnumByte(preceding(text, start)) {
			if shorter := shorterCard(value); shorter > 0 {
				e.found(found, det.name)
				replacement, has = e.token(det.placeholder, value[:shorter]), true
				cut = vstart + shorter
			}
		}
		var pos int
		if has {
			out.WriteString(text[last:vstart])
			out.WriteString(replacement)
			wrote = true
			last, pos = cut, cut
		} else if budget > 0 {
			budget--
			pos = start + 1
			for pos < n && text[pos]&0xC0 == 0x80 {
				pos++
			}
		} else {
			pos = max(end, start+1)
		}
		if pos >= n {
			break
		}
		loc = e.prefilter.FindStringIndex(text[pos:])
		if loc == nil {
			break
		}
		m = e.locate(text, pos+loc[0], pos+loc[1])
	}
	if !wrote {
		return text
	}
	out.WriteString(text[last:])
	return out.String()
}

// locate finds the capture groups for a prefilter hit; indices are absolute.
func (e *Engine) locate(text string, hs, he int) []int {
	m := e.regex.FindStringSubmatchIndex(text[hs:he])
	if m == nil || m[1] != he-hs {
		m = e.regex.FindStringSubmatchIndex(text[hs:])
		if m == nil {
			return nil
		}
	}
	for i := range m {
		if m[i] >= 0 {
			m[i] += hs
		}
	}
	return m
}

func (e *Engine) token(placeholder, value string) string {
	if e.hmacKey == nil {
		return placeholder
	}
	return e.pseudonym(placeholder, value)
}

// pseudonym: "[EMAIL:3f9a0c2b1d]", stable per value, not reversible (engine.py pseudonym).
func (e *Engine) pseudonym(placeholder, value string) string {
	if e.hmacKey == nil {
		return placeholder
	}
	canonical := pyLower(strings.Join(strings.Fields(value), ""))
	mac := hmac.New(sha256.New, e.hmacKey)
	mac.Write([]byte(canonical))
	return placeholder[:len(placeholder)-1] + ":" + hex.EncodeToString(mac.Sum(nil))[:10] + "]"
}

func rewrite(name, value string) string {
	switch name {
	case "url_text":
		return scrubTextURL(value)
	case "path_text":
		return scrubTextPath(value)
	}
	panic("unknown rewrite") // unreachable: Validate refuses unknown names; recovered as fail-closed
}

// ---------------------------------------------------------------------------------------------- boundaries

func isASCIIAlnumByte(c int) bool { return c >= 0 && isASCIIAlnum(byte(c)) }

// preceding is the byte before start (-1 at the start); an escape like "\n" reads as a space.
func preceding(text string, start int) int {
	if start <= 0 {
		return -1
	}
	b := text[start-1]
	if (b == 'n' || b == 't' || b == 'r' || b == 'f' || b == 'b') && start >= 2 && text[start-2] == '\\' {
		return ' '
	}
	return int(b)
}

func byteAt(text string, i int) int {
	if i < 0 || i >= len(text) {
		return -1
	}
	return int(text[i])
}

func isDigitB(c int) bool { return c >= '0' && c <= '9' }

func boundaryOK(text string, start, end int, kind string) bool {
	if kind == "" {
		return true
	}
	before := preceding(text, start)
	after := byteAt(text, end)
	switch kind {
	case "start-word":
		return !(isASCIIAlnumByte(before) || before == '_')
	case "start-key":
		return !(isASCIIAlnumByte(before) || before == '_' || before == '.' || before == '-')
	case "digit":
		if isDigitB(before) || isDigitB(after) {
			return false
		}
		if (before == '.' || before == '-') && isDigitB(byteAt(text, start-2)) {
			return false
		}
		if (after == '.' || after == '-') && isDigitB(byteAt(text, end+1)) {
			return false
		}
		return true
	case "alnum":
		return !(isASCIIAlnumByte(before) || isASCIIAlnumByte(after))
	case "word":
		return !(isASCIIAlnumByte(before) || before == '_' || isASCIIAlnumByte(after) || after == '_')
	}
	return true
}

// ---------------------------------------------------------------------------------------------- validators

func validate(v *validatorSpec, value string) bool {
	if v == nil {
		return true
	}
	switch v.Name {
	case "luhn":
		return luhnOK(value)
	case "ipv4":
		return ipv4OK(value)
	case "ipv6":
		return ipv6OK(value)
	case "has_digit":
		return strings.IndexFunc(value, unicode.IsDigit) >= 0
	case "digit_count_between":
		c := 0
		for _, r := range value {
			if unicode.IsDigit(r) {
				c++
			}
		}
		return v.Min <= c && c <= v.Max
	}
	return false // unknown: refused at validation; reject here too
}

func luhnOK(value string) bool {
	var digits []int
	for i := 0; i < len(value); i++ {
		if isASCIIDigit(value[i]) {
			digits = append(digits, int(value[i]-'0'))
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return false
	}
	total := 0
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i]
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		total += d
	}
	return total%10 == 0
}

func ipv4OK(value string) bool {
	parts := strings.Split(value, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) > 1 && p[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if !isASCIIDigit(p[i]) {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if p == "" || n > 255 {
			return false
		}
	}
	return value != "127.0.0.1" && value != "0.0.0.0"
}

func ipv6OK(value string) bool {
	if strings.IndexFunc(value, unicode.IsDigit) < 0 || strings.Count(value, ":") < 2 {
		return false
	}
	a, err := netip.ParseAddr(value)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return false
	}
	b := a.As16()
	zero := true
	for i := 0; i < 15; i++ {
		if b[i] != 0 {
			zero = false
		}
	}
	return !(zero && (b[15] == 0 || b[15] == 1))
}

var contextWords = map[string]bool{
	"medical": true, "record": true, "records": true, "patient": true, "pt": true, "date": true, "dob": true, "born": true,
	"admitted": true, "discharged": true, "ssn": true, "social": true, "mrn": true, "phone": true, "tel": true, "mobile": true,
	"email": true, "e-mail": true, "address": true, "zip": true, "member": true, "insurance": true, "policy": true,
	"account": true, "acct": true, "license": true, "licence": true, "passport": true, "dear": true, "attn": true,
	"name": true, "chart": true,
}

// nameLength (detectors.py name_length): bytes of a matched name to replace, up to the first context word.
func nameLength(value string) int {
	pos := 0
	for i, word := range strings.Split(value, " ") {
		bare := pyLower(strings.Trim(word, "+,"))
		if i > 0 && contextWords[bare] {
			return len(strings.TrimRight(value[:pos], " +,"))
		}
		pos += len(word) + 1
	}
	return len(value)
}

// shorterCard: length of the longest prefix that is a Luhn-valid 13–19 digit card, cut at a separator, or 0.
func shorterCard(value string) int {
	var ends []int
	for i := 0; i < len(value); i++ {
		if isASCIIDigit(value[i]) {
			ends = append(ends, i+1)
		}
	}
	for count := min(19, len(ends)); count > 12; count-- {
		end := ends[count-1]
		if (end == len(value) || !isASCIIDigit(value[end])) && luhnOK(value[:end]) {
			return end
		}
	}
	return 0
}

// ---------------------------------------------------------------------------------------------- keyed values

// Value is a telemetry value for keyed scrubbing: string, int64, float64, bool, []byte, []any, *OrderedMap or nil.
type Value = any

// ScrubKeyed scrubs value stored under attribute key (applies key rules). Never panics.
func (e *Engine) ScrubKeyed(key string, value Value, route string, hits Hits) (out Value) {
	defer func() {
		if r := recover(); r != nil {
			hits.add(e.hitIndex["scrub_error"])
			out = e.redacted
		}
	}()
	return e.keyed(key, value, route, hits, 0)
}

func isPrimitive(v Value) bool {
	switch v.(type) {
	case string, int64, float64, bool, jsonNumber:
		return true
	}
	return false
}

func (e *Engine) keyed(key string, value Value, route string, hits Hits, depth int) Value {
	action := e.keys.Classify(key)
	if value == nil || action == ActSafe && isPrimitive(value) {
		return value
	}
	s, isStr := value.(string)
	switch {
	case action == ActSensitive:
		hits.add(e.hitIndex["key"])
		if e.hmacKey != nil {
			return e.pseudonym(e.redacted, stableStr(value))
		}
		return e.redacted
	case action == ActURL && isStr:
		out := scrubURL(s, route)
		if scheme, rest, ok := strings.Cut(out, "://"); ok {
			if netloc, path, slash := strings.Cut(rest, "/"); slash {
				out = scheme + "://" + netloc + "/" + e.ScrubText(path, hits)
			}
		} else {
			out = e.ScrubText(out, hits)
		}
		return e.countIfChanged(s, out, hits, "url")
	case action == ActPath && isStr:
		path, _, _ := strings.Cut(s, "?")
		return e.countIfChanged(s, e.ScrubText(scrubPath(path, route), hits), hits, "url")
	case action == ActArgument:
		if items, ok := value.([]any); ok {
			out := make([]any, len(items))
			for i, it := range items {
				out[i] = e.scrubArgument(it, hits)
			}
			return out
		}
		return e.scrubArgument(value, hits)
	case action == ActStacktrace && isStr:
		return scrubStacktrace(s, func(x string) string { return e.ScrubText(x, hits) }, func(x string) string { return e.scrubCode(x, hits) })
	case action == ActSQL && isStr:
		return e.countIfChanged(s, e.ScrubText(obfuscateSQL(s), hits), hits, "sql")
	}
	return e.walk(value, &key, hits, depth)
}

func (e *Engine) countIfChanged(before, after string, hits Hits, name string) string {
	if before != after {
		hits.add(e.hitIndex[name])
	}
	return after
}

func stableStr(v Value) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

func (e *Engine) walk(value Value, key *string, hits Hits, depth int) Value {
	switch v := value.(type) {
	case nil, bool, float64:
		return v
	case string:
		return e.ScrubText(v, hits)
	case int64:
		return e.scrubInt(v, hits)
	case jsonNumber:
		return e.scrubJSONNumber(v, hits)
	case []byte:
		return e.ScrubText(strings.ToValidUTF8(string(v), "\uFFFD"), hits)
	}
	if depth >= maxDepth {
		return "[DEPTH_LIMIT]"
	}
	switch v := value.(type) {
	case *OrderedMap:
		out := &OrderedMap{}
		for i, k := range v.Keys {
			if i >= maxItems {
				out.Set("[TRUNCATED]", fmt.Sprintf("%d more items", len(v.Keys)-maxItems))
				break
			}
			out.Set(e.ScrubText(k, hits), e.keyed(k, v.Values[i], "", hits, depth+1))
		}
		return out
	case []any:
		items := make([]any, 0, len(v))
		for i, it := range v {
			if i >= maxItems {
				items = append(items, fmt.Sprintf("[TRUNCATED %d more items]", len(v)-maxItems))
				break
			}
			if key == nil {
				items = append(items, e.walk(it, nil, hits, depth+1))
			} else {
				items = append(items, e.keyed(*key, it, "", hits, depth+1))
			}
		}
		return items
	}
	return e.ScrubText(fmt.Sprint(value), hits)
}

// scrubInt: card numbers stored as integers (the only integer-shaped identifier with a checksum to trust).
func (e *Engine) scrubInt(v int64, hits Hits) Value {
	if v >= 1_000_000_000_000 {
		text := fmt.Sprint(v)
		if strings.ContainsRune("23456", rune(text[0])) {
			if out := e.ScrubText(text, hits); out != text {
				return out
			}
		}
	}
	return v
}

func (e *Engine) scrubJSONNumber(v jsonNumber, hits Hits) Value {
	if v.isInt && len(v.text) >= 13 && len(v.text) <= 19 && strings.ContainsRune("23456", rune(v.text[0])) {
		if out := e.ScrubText(v.text, hits); out != v.text {
			return out
		}
	}
	return v
}

// scrubArgument (engine.py scrub_argument, no template context): free text, and a value that is wholly a
// name or a word in no list is data.
func (e *Engine) scrubArgument(value Value, hits Hits) Value {
	switch value.(type) {
	case nil, bool:
		return value
	}
	var text string
	numeric := false
	switch v := value.(type) {
	case string:
		text = v
		numeric = len(text) <= 4 && text != "" && strings.IndexFunc(text, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
	case int64:
		text, numeric = fmt.Sprint(v), true
	case float64:
		text, numeric = pyFloatRepr(v), true
	default:
		text = fmt.Sprint(v)
	}
	out := e.ScrubText(text, hits)
	if s, isStr := value.(string); isStr && out == s && e.freeText != nil && e.freeText.bareValueIsData(out) {
		hits.add(e.hitIndex["name_text"])
		if e.freeText.isName(out) {
			return e.pseudonym("[NAME]", out)
		}
		return e.pseudonym(e.redacted, out)
	}
	if numeric && out == text {
		return value
	}
	return out
}
