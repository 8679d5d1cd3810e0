package phiprocessor

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScrubText: any input is scrubbed without a panic, the output is valid UTF-8 when the input is, stays within
// the value cap, and a second pass does not find new PHI in our own placeholders.
func FuzzScrubText(f *testing.F) {
	e := testEngine(f)
	for _, c := range loadParity(f)[:200] {
		f.Add(c.Input)
	}
	f.Add("{\"ssn\": \"078-05-1120\", \"x\": [1, 2.5, null]}")
	f.Add("Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\n    g()\nValueError: 078-05-1120\n")
	f.Fuzz(func(t *testing.T, s string) {
		hits := e.NewHits()
		out := e.ScrubText(s, hits)
		if n := hits[e.hitIndex["scrub_error"]]; n != 0 {
			t.Fatalf("internal error (failed closed, but a bug) on %q", s)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input: %q -> %q", s, out)
		}
		if len(out) > e.maxBytes*2+64 {
			t.Fatalf("output of %d bytes exceeds the cap", len(out))
		}
		if strings.Contains(out, "078-05-1120") && !strings.Contains(s, "078-05-1120") {
			t.Fatalf("scrubbing invented an SSN: %q -> %q", s, out)
		}
		_ = e.ScrubKeyed("db.statement", s, "", nil)
		_ = e.ScrubKeyed("url.full", s, "", nil)
		_ = e.ScrubSpanName(s, "", nil)
	})
}
