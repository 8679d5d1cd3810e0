package phiprocessor

import (
	"encoding/json"
	"fmt"
	"os"
)

// PolicyFormat is the only policy document version this processor understands (otel_clinic/scrubbing/policydoc.py).
const PolicyFormat = "otel-clinic-policy/1"

// PolicyDocument is the Python policy exported as data (`otel-clinic collector-config --policy-document`).
type PolicyDocument struct {
	Format         string            `json:"format"`
	Replacement    string            `json:"replacement"`
	MaxValueBytes  int               `json:"max_value_bytes"`
	Placeholders   map[string]string `json:"placeholders"`
	Detectors      []DetectorSpec    `json:"detectors"`
	Keys           KeySpec           `json:"keys"`
	MetricAttrKeys []string          `json:"metric_attribute_keys"`
	FreeText       FreeTextSpec      `json:"free_text"`
}

// DetectorSpec is one value detector: a kept context prefix and a replaced value (RE2 syntax).
type DetectorSpec struct {
	Name        string          `json:"name"`
	Prefix      string          `json:"prefix"`
	Value       string          `json:"value"`
	Placeholder string          `json:"placeholder"`
	Boundary    *string         `json:"boundary"`
	Validator   json.RawMessage `json:"validator"`
	Trim        *string         `json:"trim"`
	Rewrite     *string         `json:"rewrite"`
}

// KeySpec carries the key rules (keys.py).
type KeySpec struct {
	SensitiveRuns   []string `json:"sensitive_runs"`
	Exact           []string `json:"exact"`
	Allowed         []string `json:"allowed"`
	Safe            []string `json:"safe"`
	RuleExempt      []string `json:"rule_exempt"`
	URL             []string `json:"url"`
	Path            []string `json:"path"`
	SQL             []string `json:"sql"`
	Query           []string `json:"query"`
	Stacktrace      []string `json:"stacktrace"`
	Argument        []string `json:"argument"`
	HeaderPrefixes  []string `json:"header_prefixes"`
	HarmlessHeaders []string `json:"harmless_headers"`
	PluralExempt    []string `json:"plural_exempt"`
}

// FreeTextSpec names the free-text rules (the rules are code; the parity corpus pins them).
type FreeTextSpec struct {
	Enabled     bool `json:"enabled"`
	NameLexicon struct {
		Format string `json:"format"`
		File   string `json:"file"`
		SHA256 string `json:"sha256"`
	} `json:"name_lexicon"`
	Rules []string `json:"rules"`
}

var (
	knownBoundaries = map[string]bool{"digit": true, "alnum": true, "word": true, "start-word": true, "start-key": true}
	knownValidators = map[string]bool{"luhn": true, "ipv4": true, "ipv6": true, "has_digit": true, "digit_count_between": true}
	knownTrims      = map[string]bool{"name_length": true}
	knownRewrites   = map[string]bool{"url_text": true, "path_text": true}
	// Free-text rules this engine implements; a document asking for another one is refused.
	knownFreeTextRules = map[string]bool{
		"quoted_literals": true, "dates": true, "identifier_shapes": true, "street_addresses": true,
		"url_hosts": true, "names": true, "tracebacks": true, "log_arguments": true,
	}
)

// LoadPolicyFile reads and validates a policy document.
func LoadPolicyFile(path string) (*PolicyDocument, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("phi: reading policy_file: %w", err)
	}
	return ParsePolicy(raw)
}

// ParsePolicy parses and validates a policy document; unknown versions or names are refused (fail closed).
func ParsePolicy(raw []byte) (*PolicyDocument, error) {
	var doc PolicyDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("phi: policy document is not valid JSON: %w", err)
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return &doc, nil
}

type validatorSpec struct {
	Name string `json:"name"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
}

func parseValidator(raw json.RawMessage) (*validatorSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return &validatorSpec{Name: name}, nil
	}
	var v validatorSpec
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("validator %s is neither a name nor {name, min, max}", string(raw))
	}
	return &v, nil
}

// Validate refuses a document this engine cannot apply exactly.
func (d *PolicyDocument) Validate() error {
	if d.Format != PolicyFormat {
		return fmt.Errorf("phi: unsupported policy document format %q (this processor understands %q)", d.Format, PolicyFormat)
	}
	if d.Replacement != "placeholder" && d.Replacement != "hmac" {
		return fmt.Errorf("phi: unknown replacement style %q", d.Replacement)
	}
	if d.MaxValueBytes <= 0 {
		return fmt.Errorf("phi: max_value_bytes must be positive")
	}
	if len(d.Detectors) == 0 {
		return fmt.Errorf("phi: the policy document has no detectors")
	}
	for _, det := range d.Detectors {
		if det.Name == "" || det.Value == "" || det.Placeholder == "" {
			return fmt.Errorf("phi: detector %q needs name, value and placeholder", det.Name)
		}
		if det.Boundary != nil && !knownBoundaries[*det.Boundary] {
			return fmt.Errorf("phi: detector %q: unknown boundary rule %q", det.Name, *det.Boundary)
		}
		v, err := parseValidator(det.Validator)
		if err != nil {
			return fmt.Errorf("phi: detector %q: %w", det.Name, err)
		}
		if v != nil && !knownValidators[v.Name] {
			return fmt.Errorf("phi: detector %q: unknown validator %q", det.Name, v.Name)
		}
		if v != nil && v.Name == "digit_count_between" && (v.Min < 0 || v.Max < v.Min) {
			return fmt.Errorf("phi: detector %q: digit_count_between needs 0 <= min <= max", det.Name)
		}
		if det.Trim != nil && !knownTrims[*det.Trim] {
			return fmt.Errorf("phi: detector %q: unknown trim %q", det.Name, *det.Trim)
		}
		if det.Rewrite != nil && !knownRewrites[*det.Rewrite] {
			return fmt.Errorf("phi: detector %q: unknown rewrite %q", det.Name, *det.Rewrite)
		}
	}
	for _, r := range d.FreeText.Rules {
		if !knownFreeTextRules[r] {
			return fmt.Errorf("phi: unknown free-text rule %q", r)
		}
	}
	for _, k := range []string{"redacted", "truncated"} {
		if d.Placeholders[k] == "" {
			return fmt.Errorf("phi: placeholders.%s is missing", k)
		}
	}
	return nil
}
