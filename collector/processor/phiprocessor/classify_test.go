package phiprocessor

import "strings"

// classifyDifference names why a case differs (used when regenerating the allowlist with -update-allowlist;
// the list is reviewed by a human and checked in).
func classifyDifference(c parityCase, got string) string {
	want := c.Expected
	switch {
	case c.Key != nil && *c.Key == "clinic.log.args":
		return "free text not ported: log argument that is wholly a name / a word in no list (needs the name lexicon and the common-word list)"
	case strings.Count(want, "'[REDACTED]'")+strings.Count(want, "\"[REDACTED]\"") > strings.Count(got, "'[REDACTED]'")+strings.Count(got, "\"[REDACTED]\""):
		return "free text not ported: quoted literal judged as user input (KEEP/SCAN/MASK needs the name lexicon and the common-word list)"
	case strings.Count(want, "[DATE]") > strings.Count(got, "[DATE]"):
		return "free text not ported: date without a context word"
	case strings.Count(want, "[ID]") > strings.Count(got, "[ID]"):
		return "free text not ported: identifier-shaped token without a context word"
	case strings.Count(want, "[NAME]") > strings.Count(got, "[NAME]"):
		return "free text not ported: person name from the lexicon"
	case strings.Count(want, "[ADDRESS]") > strings.Count(got, "[ADDRESS]"):
		return "free text not ported: street address in any case"
	}
	return "unclassified"
}
