package phiprocessor

import (
	"regexp"
	"strings"
)

var (
	frameLine   = regexp.MustCompile(`^\s*File "[^"\n]*", line \d+(?:, in \S+)?\s*$`)
	markerLine  = regexp.MustCompile(`^\s*[~^\s]+$`)
	warningHead = regexp.MustCompile(`^[^\n]{1,300}\.py:\d+: \w*(?:Warning|Error): `)
	fixedLines  = map[string]bool{
		"Traceback (most recent call last):":                                   true,
		"During handling of the above exception, another exception occurred:":  true,
		"The above exception was the direct cause of the following exception:": true,
	}
)

// looksLikeTraceback: a multi-line traceback or warnings text (freetext.py looks_like_traceback).
func looksLikeTraceback(text string) bool {
	return strings.Contains(text, "\n") && (strings.Contains(text, "Traceback (most recent call last):") ||
		strings.Contains(text, `  File "`) || warningHead.MatchString(text))
}

// scrubStacktrace keeps frames verbatim, source lines as code (pattern detectors only), the rest free text.
func scrubStacktrace(text string, message, code func(string) string) string {
	lines := strings.Split(text, "\n")
	codeNext := false
	for i, line := range lines {
		stripped := strings.TrimSpace(line)
		if loc := warningHead.FindStringIndex(line); loc != nil {
			lines[i] = line[:loc[1]] + message(line[loc[1]:])
			codeNext = true
			continue
		}
		if frameLine.MatchString(line) {
			codeNext = true
			continue
		}
		if codeNext && strings.HasPrefix(line, "  ") && stripped != "" {
			lines[i] = code(line)
			codeNext = false
			continue
		}
		codeNext = false
		if stripped == "" || fixedLines[stripped] || markerLine.MatchString(line) || strings.HasPrefix(stripped, "[Previous line repeated") {
			continue
		}
		lines[i] = message(line)
	}
	return strings.Join(lines, "\n")
}
