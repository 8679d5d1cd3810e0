package phiprocessor

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON with Python's json.loads / json.dumps(ensure_ascii=False) behaviour where it shows in the output:
// key order kept, ", " and ": " separators, floats in repr form.

// OrderedMap is a JSON object / attribute map with insertion order (a later duplicate key replaces the value).
type OrderedMap struct {
	Keys   []string
	Values []any
	index  map[string]int
}

func (m *OrderedMap) Set(k string, v any) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if i, ok := m.index[k]; ok {
		m.Values[i] = v
		return
	}
	m.index[k] = len(m.Keys)
	m.Keys = append(m.Keys, k)
	m.Values = append(m.Values, v)
}

type jsonNumber struct {
	text  string
	isInt bool
	f     float64
}

func parseJSON(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // trailing data
	}
	return v, true
}

type jsonErr struct{}

func (jsonErr) Error() string { return "bad json" }

func readJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > 500 {
		return nil, jsonErr{}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := &OrderedMap{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, jsonErr{}
				}
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			items := []any{}
			for dec.More() {
				v, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return items, nil
		}
		return nil, jsonErr{}
	case json.Number:
		text := string(t)
		if !strings.ContainsAny(text, ".eE") {
			// Python ints: arbitrary precision, "-0" is 0
			if strings.TrimLeft(strings.TrimPrefix(text, "-"), "0") == "" {
				text = "0"
			}
			return jsonNumber{text: text, isInt: true}, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !math.IsInf(f, 0) {
			return nil, err
		}
		return jsonNumber{text: pyFloatRepr(f), f: f}, nil
	case string, bool, nil:
		return t, nil
	}
	return nil, jsonErr{}
}

// pyFloatRepr is Python's repr(float).
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func dumpJSON(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeJSONString(b, t)
	case jsonNumber:
		b.WriteString(t.text)
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case float64:
		b.WriteString(pyFloatRepr(t))
	case *OrderedMap:
		b.WriteByte('{')
		for i, k := range t.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, t.Values[i])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, it := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, it)
		}
		b.WriteByte(']')
	default:
		writeJSONString(b, "[UNSERIALIZABLE]")
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteString(strconv.FormatInt(int64(r)>>4, 16))
				b.WriteString(strconv.FormatInt(int64(r)&0xf, 16))
			} else {
				var buf [4]byte
				n := utf8.EncodeRune(buf[:], r)
				b.Write(buf[:n])
			}
		}
	}
	b.WriteByte('"')
}
