package phiprocessor

import "strings"

// classifyDifference suggests a reason for a difference when the allowlist is regenerated with -update-allowlist;
// a human reviews every entry (and its reason) before it is checked in.
func classifyDifference(c parityCase, got string) string {
	want := c.Expected
	for _, p := range []struct{ placeholder, rule string }{
		{"[NAME]", "name lexicon (names.go)"}, {"[DATE]", "free-text dates"}, {"[ID]", "identifier shapes / safe numbers"},
		{"[ADDRESS]", "street addresses"}, {"'[REDACTED]'", "quoted-literal verdict"}, {"\"[REDACTED]\"", "quoted-literal verdict"},
	} {
		if strings.Count(want, p.placeholder) != strings.Count(got, p.placeholder) {
			return "REVIEW: differs in " + p.rule
		}
	}
	if c.Key != nil {
		return "REVIEW: differs under key rules for " + *c.Key
	}
	return "REVIEW: differs in the pattern detectors"
}
