package phiprocessor

import (
	"strings"
	"unicode"
)

// obfuscateSQL ports sql.py: string and numeric literals become "?"; comments dropped; identifiers and
// driver placeholders kept. A single forward scan over code points (Python indexes str by code point).
func obfuscateSQL(sql string) string {
	s := []rune(sql)
	n := len(s)
	var out []string
	pos := 0
	for pos < n {
		start, end, kind := sqlNextToken(s, pos)
		if kind == "" {
			out = append(out, string(s[pos:]))
			break
		}
		out = append(out, string(s[pos:start]))
		switch kind {
		case "line_comment":
			nl := indexRunes(s, []rune("\n"), end)
			if nl < 0 {
				pos = n
			} else {
				pos = nl
			}
			stripTrailingSpace(&out)
		case "block_comment":
			pos = endOfBlockComment(s, end)
			stripTrailingSpace(&out)
			prev := ""
			for i := len(out) - 1; i >= 0; i-- {
				if out[i] != "" {
					prev = out[i]
					break
				}
			}
			if pos < n && prev != "" {
				last := []rune(prev)
				if !unicode.IsSpace(last[len(last)-1]) && !unicode.IsSpace(s[pos]) {
					out = append(out, " ")
				}
			}
		case "string":
			escapes := s[start] == 'E' || s[start] == 'e'
			pos = endOfQuoted(s, end, '\'', escapes)
			out = append(out, "?")
		case "ident":
			pos = endOfQuoted(s, end, '"', false)
			out = append(out, string(s[start:pos]))
		case "dollar":
			tag := s[start:end]
			c := indexRunes(s, tag, end)
			if c < 0 {
				pos = n
			} else {
				pos = c + len(tag)
			}
			out = append(out, "?")
		case "number":
			out = append(out, "?")
			pos = end
		default:
			out = append(out, string(s[start:end]))
			pos = end
		}
	}
	return strings.TrimFunc(strings.Join(out, ""), unicode.IsSpace)
}

func indexRunes(s, sub []rune, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		ok := true
		for j := range sub {
			if s[i+j] != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

func stripTrailingSpace(out *[]string) {
	for len(*out) > 0 && (*out)[len(*out)-1] == "" {
		*out = (*out)[:len(*out)-1]
	}
	if len(*out) > 0 {
		(*out)[len(*out)-1] = strings.TrimRight((*out)[len(*out)-1], " \t")
	}
}

func endOfQuoted(s []rune, pos int, quote rune, backslash bool) int {
	n := len(s)
	for pos < n {
		c := s[pos]
		if backslash && c == '\\' {
			pos += 2
			continue
		}
		if c == quote {
			if pos+1 < n && s[pos+1] == quote {
				pos += 2
				continue
			}
			return pos + 1
		}
		pos++
	}
	return n
}

func endOfBlockComment(s []rune, pos int) int {
	depth := 1
	n := len(s)
	for depth > 0 && pos < n {
		cl := indexRunes(s, []rune("*/"), pos)
		if cl < 0 {
			return n
		}
		op := indexRunes(s[:cl], []rune("/*"), pos)
		if op >= 0 {
			depth++
			pos = op + 2
		} else {
			depth--
			pos = cl + 2
		}
	}
	return pos
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Nd, r)
}

func isASCIILetterOrUnderscore(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isDigitRune(r rune) bool { return unicode.IsDigit(r) }

// sqlNextToken returns the leftmost token at or after pos, trying the alternatives of sql.py's _TOKEN in order.
func sqlNextToken(s []rune, pos int) (int, int, string) {
	n := len(s)
	for i := pos; i < n; i++ {
		if end, kind := sqlTokenAt(s, i); kind != "" {
			return i, end, kind
		}
	}
	return 0, 0, ""
}

func sqlTokenAt(s []rune, i int) (int, string) {
	n := len(s)
	c := s[i]
	at := func(j int) rune {
		if j < n {
			return s[j]
		}
		return 0
	}
	if c == '-' && at(i+1) == '-' {
		return i + 2, "line_comment"
	}
	if c == '/' && at(i+1) == '*' {
		return i + 2, "block_comment"
	}
	// string: (?:[EeBbXxNn]|[Uu]&)?'
	if c == '\'' {
		return i + 1, "string"
	}
	if strings.ContainsRune("EeBbXxNn", c) && at(i+1) == '\'' {
		return i + 2, "string"
	}
	if (c == 'U' || c == 'u') && at(i+1) == '&' && at(i+2) == '\'' {
		return i + 3, "string"
	}
	if c == '"' {
		return i + 1, "ident"
	}
	if c == '$' {
		// \$(?:[A-Za-z_][A-Za-z0-9_]*)?\$
		j := i + 1
		if j < n && isASCIILetterOrUnderscore(s[j]) {
			j++
			for j < n && (isASCIILetterOrUnderscore(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
		}
		if j < n && s[j] == '$' {
			return j + 1, "dollar"
		}
		// placeholder \$\d+
		j = i + 1
		for j < n && isDigitRune(s[j]) {
			j++
		}
		if j > i+1 {
			return j, "placeholder"
		}
	}
	if c == '%' {
		// %\([^)\s]{1,64}\)s | %s
		if at(i+1) == '(' {
			j := i + 2
			for j < n && j-(i+2) < 64 && s[j] != ')' && !unicode.IsSpace(s[j]) {
				j++
			}
			if j > i+2 && j < n && s[j] == ')' && at(j+1) == 's' {
				return j + 2, "placeholder"
			}
		}
		if at(i+1) == 's' {
			return i + 2, "placeholder"
		}
	}
	if c == '?' {
		j := i + 1
		for j < n && isDigitRune(s[j]) {
			j++
		}
		return j, "placeholder"
	}
	if c == ':' && (i == 0 || !(s[i-1] == ':' || isWordRune(s[i-1]))) && i+1 < n && isASCIILetterOrUnderscore(s[i+1]) {
		j := i + 2
		for j < n && isWordRune(s[j]) {
			j++
		}
		return j, "placeholder"
	}
	if c == '@' && i+1 < n && isASCIILetterOrUnderscore(s[i+1]) {
		j := i + 2
		for j < n && isWordRune(s[j]) {
			j++
		}
		return j, "placeholder"
	}
	if isASCIILetterOrUnderscore(c) {
		j := i + 1
		for j < n && (isASCIILetterOrUnderscore(s[j]) || s[j] >= '0' && s[j] <= '9' || s[j] == '$') {
			j++
		}
		return j, "word"
	}
	// number: 0[xX][0-9A-Fa-f]+ | (?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?
	if c == '0' && (at(i+1) == 'x' || at(i+1) == 'X') && i+2 < n && isHex8(s[i+2]) {
		j := i + 2
		for j < n && isHex8(s[j]) {
			j++
		}
		return j, "number"
	}
	j := i
	if isDigitRune(c) {
		for j < n && isDigitRune(s[j]) {
			j++
		}
		if j < n && s[j] == '.' {
			j++
			for j < n && isDigitRune(s[j]) {
				j++
			}
		}
	} else if c == '.' && i+1 < n && isDigitRune(s[i+1]) {
		j = i + 1
		for j < n && isDigitRune(s[j]) {
			j++
		}
	} else {
		return 0, ""
	}
	if j < n && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < n && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < n && isDigitRune(s[k]) {
			for k < n && isDigitRune(s[k]) {
				k++
			}
			j = k
		}
	}
	return j, "number"
}

func isHex8(r rune) bool { return r < 0x80 && isHex(byte(r)) }
