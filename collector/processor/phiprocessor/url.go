package phiprocessor

import (
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ports of otel_clinic/scrubbing/url.py with Python's urllib.parse (3.11) semantics where they matter.

const idSegment = "{id}"

var (
	idLike           = regexp.MustCompile(`^\d{2,}$|\d{4,}|\d[^/]*\d[^/]*\d|^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$|^[0-9a-fA-F]{16,}$|@`)
	longDigits       = regexp.MustCompile(`\d{4,}`)
	ipv4Full         = regexp.MustCompile(`^\d{1,3}(?:\.\d{1,3}){3}$`)
	ipvFuture        = regexp.MustCompile(`^v[a-fA-F0-9]+\..+$`)
	safeHostSuffixes = []string{".svc", ".cluster.local", ".internal", ".local", ".localdomain"}
	publicDocDomains = []string{
		"djangoproject.com", "python.org", "readthedocs.io", "pypa.io", "github.com", "sentry.io", "opentelemetry.io",
		"postgresql.org", "redis.io", "celeryq.dev", "gunicorn.org", "kubernetes.io", "prometheus.io", "grafana.com",
	}
	loopback   = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "0.0.0.0": true}
	usesNetloc = map[string]bool{"": true, "ftp": true, "http": true, "gopher": true, "nntp": true, "telnet": true,
		"imap": true, "wais": true, "file": true, "mms": true, "https": true, "shttp": true, "snews": true,
		"prospero": true, "rtsp": true, "rtspu": true, "rsync": true, "svn": true, "svn+ssh": true, "sftp": true,
		"nfs": true, "git": true, "git+ssh": true, "ws": true, "wss": true, "itms-services": true}
)

func pyLower(s string) string { return strings.ToLower(s) }

type splitResult struct{ scheme, netloc, path, query, fragment string }

var errBadURL = errors.New("invalid URL")

const schemeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."

// urlsplit follows Python 3.11's urllib.parse.urlsplit.
func urlsplit(url string) (splitResult, error) {
	url = strings.TrimLeftFunc(url, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(url, "\t\r\n") {
		url = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(url)
	}
	var r splitResult
	if i := strings.IndexByte(url, ':'); i > 0 && url[0] < 0x80 && (url[0]|0x20 >= 'a' && url[0]|0x20 <= 'z') {
		ok := true
		for j := 0; j < i; j++ {
			if !strings.ContainsRune(schemeChars, rune(url[j])) {
				ok = false
				break
			}
		}
		if ok {
			r.scheme, url = strings.ToLower(url[:i]), url[i+1:]
		}
	}
	if strings.HasPrefix(url, "//") {
		delim := len(url)
		for _, c := range "/?#" {
			if w := strings.IndexRune(url[2:], c); w >= 0 && w+2 < delim {
				delim = w + 2
			}
		}
		r.netloc, url = url[2:delim], url[delim:]
		open, cl := strings.Contains(r.netloc, "["), strings.Contains(r.netloc, "]")
		if open != cl {
			return r, errBadURL
		}
		if open && cl {
			_, after, _ := strings.Cut(r.netloc, "[")
			host, _, _ := strings.Cut(after, "]")
			if strings.HasPrefix(host, "v") {
				if !ipvFuture.MatchString(host) {
					return r, errBadURL
				}
			} else {
				a, err := netip.ParseAddr(host)
				if err != nil || a.Is4() {
					return r, errBadURL
				}
			}
		}
	}
	if i := strings.IndexByte(url, '#'); i >= 0 {
		url, r.fragment = url[:i], url[i+1:]
	}
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, r.query = url[:i], url[i+1:]
	}
	r.path = url
	return r, nil
}

func (r splitResult) hostinfo() (string, string, bool) {
	hostinfo := r.netloc
	if i := strings.LastIndexByte(hostinfo, '@'); i >= 0 {
		hostinfo = hostinfo[i+1:]
	}
	var hostname, port string
	if _, bracketed, ok := strings.Cut(hostinfo, "["); ok {
		h, rest, _ := strings.Cut(bracketed, "]")
		hostname = h
		_, port, _ = strings.Cut(rest, ":")
	} else {
		hostname, port, _ = strings.Cut(hostinfo, ":")
	}
	return hostname, port, port != ""
}

func (r splitResult) hostname() string {
	h, _, _ := r.hostinfo()
	if h == "" {
		return ""
	}
	name, zone, hasZone := strings.Cut(h, "%")
	if hasZone {
		return pyLower(name) + "%" + zone
	}
	return pyLower(name)
}

func (r splitResult) port() (int, bool, error) {
	_, p, ok := r.hostinfo()
	if !ok {
		return 0, false, nil
	}
	for i := 0; i < len(p); i++ {
		if !isASCIIDigit(p[i]) {
			return 0, false, errBadURL
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n > 65535 {
		return 0, false, errBadURL
	}
	return n, true, nil
}

func urlunsplit(scheme, netloc, url string) string {
	if netloc != "" || (scheme != "" && usesNetloc[scheme] && !strings.HasPrefix(url, "//")) {
		if url != "" && url[0] != '/' {
			url = "/" + url
		}
		url = "//" + netloc + url
	}
	if scheme != "" {
		url = scheme + ":" + url
	}
	return url
}

// unquote is urllib.parse.unquote (UTF-8, errors="replace").
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var raw []byte
	var out strings.Builder
	flush := func() {
		if len(raw) > 0 {
			out.WriteString(strings.ToValidUTF8(string(raw), "\uFFFD"))
			raw = raw[:0]
		}
	}
	for i := 0; i < len(s); {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			raw = append(raw, byte(v))
			i += 3
			continue
		}
		flush()
		out.WriteByte(s[i])
		i++
	}
	flush()
	return out.String()
}

func isHex(c byte) bool {
	return isASCIIDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func hasRouteParam(s string) bool { return strings.ContainsAny(s, "<{:") }

func looksLikeNameSlug(segment string) bool {
	words := strings.Split(strings.ReplaceAll(segment, "+", " "), " ")
	if len(words) < 2 {
		return false
	}
	for _, w := range words {
		if w == "" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// scrubPath returns the route when known, else the path with id-like segments replaced.
func scrubPath(path, route string) string {
	if route != "" {
		if strings.HasPrefix(route, "/") {
			return route
		}
		return "/" + route
	}
	if path == "" {
		return path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		decoded := unquote(seg)
		if hasRouteParam(decoded) && (strings.Contains(decoded, "}") || strings.Contains(decoded, ">")) {
			continue
		}
		if idLike.MatchString(decoded) || looksLikeNameSlug(decoded) {
			segs[i] = idSegment
		}
	}
	return strings.Join(segs, "/")
}

// scrubURL: credentials, query and fragment dropped; id-like path segments replaced. Never fails.
func scrubURL(url, route string) string {
	parts, err := urlsplit(url)
	if err != nil {
		return "[URL]"
	}
	netloc := parts.hostname()
	if strings.Contains(netloc, ":") {
		netloc = "[" + netloc + "]"
	}
	if port, ok, err := parts.port(); err == nil && ok {
		netloc = netloc + ":" + strconv.Itoa(port)
	}
	return urlunsplit(parts.scheme, netloc, scrubPath(parts.path, route))
}

func publicDocs(host string) bool {
	host = pyLower(host)
	for _, d := range publicDocDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

func safeHost(host string) bool {
	host = strings.TrimRight(pyLower(host), ".")
	if loopback[host] || strings.HasPrefix(host, "127.") {
		return true
	}
	if ipv4Full.MatchString(host) || strings.Contains(host, ":") {
		return false
	}
	if publicDocs(host) {
		return true
	}
	if !strings.Contains(host, ".") {
		return true
	}
	for _, s := range safeHostSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// scrubTextURL is url.py scrub_text_url: a URL inside free text, host masked unless ours or public docs.
func scrubTextURL(url string) string {
	out := scrubURL(url, "")
	parts, err := urlsplit(out)
	if err != nil {
		return "[URL]"
	}
	host := parts.hostname()
	if host == "" || safeHost(host) {
		if publicDocs(host) && !strings.Contains(url, "@") {
			before, _, _ := strings.Cut(url, "?")
			return before
		}
		return out
	}
	repl := "[HOST]"
	if ipv4Full.MatchString(host) || strings.Contains(host, ":") {
		repl = "[IP]"
	}
	old := host
	if strings.Contains(host, ":") {
		old = "[" + host + "]"
	}
	netloc := strings.Replace(parts.netloc, old, repl, 1)
	return urlunsplit(parts.scheme, netloc, parts.path)
}

// scrubTextPath is url.py scrub_text_path: file-like segments kept unless they carry an e-mail or 4+ digits.
func scrubTextPath(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		decoded := unquote(seg)
		if strings.Contains(decoded, ".") && !strings.Contains(decoded, "@") && !longDigits.MatchString(decoded) {
			continue
		}
		if seg != "" {
			segs[i] = scrubPath(seg, "")
		}
	}
	return strings.Join(segs, "/")
}
