package phiprocessor

import (
	"strings"
	"sync"
)

// KeyAction is what a key rule says about the value under a key (keys.py KeyAction).
type KeyAction uint8

const (
	ActText KeyAction = iota
	ActSafe
	ActSensitive
	ActURL
	ActPath
	ActSQL
	ActArgument
	ActStacktrace
)

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// keyTokens: "patient.firstName" -> [patient first name] (camel split, then any non-alphanumeric separates).
func keyTokens(key string) []string {
	var tokens []string
	var cur []byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !isASCIIAlnum(c) {
			if len(cur) > 0 {
				tokens = append(tokens, string(cur))
				cur = cur[:0]
			}
			continue
		}
		if c >= 'A' && c <= 'Z' && i > 0 {
			p := key[i-1]
			if p >= 'a' && p <= 'z' || isASCIIDigit(p) {
				if len(cur) > 0 {
					tokens = append(tokens, string(cur))
					cur = cur[:0]
				}
			}
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		cur = append(cur, c)
	}
	if len(cur) > 0 {
		tokens = append(tokens, string(cur))
	}
	return tokens
}

func normaliseKey(key string) string { return strings.Join(keyTokens(key), "") }

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// KeyRules classifies attribute keys exactly like keys.py KeyRules.classify.
type KeyRules struct {
	runs, exact, allowed                    map[string]bool
	maxRun                                  int
	safe, exempt, url, path, sql, query     map[string]bool
	stack, argument, harmless, pluralExempt map[string]bool
	headerPrefixes                          []string
	mu                                      sync.RWMutex
	cache                                   map[string]KeyAction
}

func newKeyRules(k KeySpec) *KeyRules {
	r := &KeyRules{
		runs: map[string]bool{}, exact: map[string]bool{}, allowed: map[string]bool{},
		safe: set(k.Safe), exempt: set(k.RuleExempt), url: set(k.URL), path: set(k.Path), sql: set(k.SQL),
		query: set(k.Query), stack: set(k.Stacktrace), argument: set(k.Argument), harmless: set(k.HarmlessHeaders),
		pluralExempt: set(k.PluralExempt), headerPrefixes: k.HeaderPrefixes, cache: map[string]KeyAction{}, maxRun: 1,
	}
	for _, s := range k.SensitiveRuns {
		r.runs[normaliseKey(s)] = true
		if n := len(keyTokens(s)); n > r.maxRun {
			r.maxRun = n
		}
	}
	for _, s := range k.Exact {
		r.exact[normaliseKey(s)] = true
	}
	for _, s := range k.Allowed {
		r.allowed[normaliseKey(s)] = true
	}
	return r
}

// Classify is memoised (bounded): keys are low-cardinality, but never trust that.
func (r *KeyRules) Classify(key string) KeyAction {
	r.mu.RLock()
	a, ok := r.cache[key]
	r.mu.RUnlock()
	if ok {
		return a
	}
	a = r.classify(key)
	r.mu.Lock()
	if len(r.cache) > 8192 {
		r.cache = map[string]KeyAction{}
	}
	r.cache[key] = a
	r.mu.Unlock()
	return a
}

func (r *KeyRules) classify(key string) KeyAction {
	lowered := pyLower(key)
	switch {
	case r.allowed[normaliseKey(key)]:
		return ActSafe
	case r.safe[lowered]:
		return ActSafe
	case r.url[lowered]:
		return ActURL
	case r.path[lowered]:
		return ActPath
	case r.sql[lowered]:
		return ActSQL
	case r.argument[lowered]:
		return ActArgument
	case r.stack[lowered]:
		return ActStacktrace
	case r.query[lowered]:
		return ActSensitive
	case r.exempt[lowered]:
		return ActText
	}
	for _, prefix := range r.headerPrefixes {
		if strings.HasPrefix(lowered, prefix) {
			header := strings.ReplaceAll(lowered[len(prefix):], "_", "-")
			if r.harmless[header] {
				return ActText
			}
			return ActSensitive
		}
	}
	if r.IsSensitiveName(key) {
		return ActSensitive
	}
	return ActText
}

// IsSensitiveName: a key name (header, form field, JSON key) that marks its value as sensitive.
func (r *KeyRules) IsSensitiveName(key string) bool {
	return r.sensitiveTokens(keyTokens(key))
}

func (r *KeyRules) sensitiveTokens(tokens []string) bool {
	if len(tokens) == 0 {
		return false
	}
	if r.exact[strings.Join(tokens, "")] {
		return true
	}
	last := tokens[len(tokens)-1]
	if len(last) >= 3 && strings.HasSuffix(last, "s") && !r.pluralExempt[last] {
		var sing string
		if strings.HasSuffix(last, "es") && r.runs[last[:len(last)-2]] {
			sing = last[:len(last)-2]
		} else {
			sing = last[:len(last)-1]
		}
		singular := append(append([]string{}, tokens[:len(tokens)-1]...), sing)
		// Python re-tokenises "_".join(singular): empty tokens vanish.
		if r.sensitiveTokens(keyTokens(strings.Join(singular, "_"))) {
			return true
		}
	}
	n := len(tokens)
	for i := 0; i < n; i++ {
		acc := ""
		for j := i; j < n && j < i+r.maxRun; j++ {
			acc += tokens[j]
			if r.runs[acc] {
				return true
			}
		}
	}
	return false
}
