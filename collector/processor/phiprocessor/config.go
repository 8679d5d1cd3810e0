package phiprocessor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Config of the phi processor.
type Config struct {
	// PolicyFile is the policy document written by `otel-clinic collector-config --policy-document`
	// (collector/phi-policy.json). At most one of PolicyFile and Policy is set; with neither, the policy and
	// lexicon embedded at build time (the package's default policy) apply.
	PolicyFile string `mapstructure:"policy_file"`
	// Policy is the same document inline (JSON text).
	Policy string `mapstructure:"policy"`
	// NameLexiconFile is the name lexicon the policy's free-text rules use (checked against the sha256 in the
	// policy document). Default: the document's `free_text.name_lexicon.file`, relative to the repository root
	// next to policy_file (policy_file's parent directory's parent).
	NameLexiconFile string `mapstructure:"name_lexicon_file"`
	// HMACKeyEnv names the environment variable holding the pseudonym key when the policy says
	// "replacement": "hmac". The key itself never appears in configuration.
	HMACKeyEnv string `mapstructure:"hmac_key_env"`
	// DropUnlistedMetricAttributes removes data-point attribute keys that are not in the policy's
	// metric_attribute_keys (the SDK view does this in-process); off by default because it can merge series.
	DropUnlistedMetricAttributes bool `mapstructure:"drop_unlisted_metric_attributes"`

	_ struct{}
}

func createDefaultConfig() *Config { return &Config{} }

// Validate loads and compiles the policy: an unknown document version or an unknown validator, trim, rewrite or
// boundary name fails here, so a Collector with a policy it cannot apply exactly never starts (fail closed).
func (c *Config) Validate() error {
	_, err := c.engine()
	return err
}

func (c *Config) document() (*PolicyDocument, error) {
	switch {
	case c.PolicyFile != "" && c.Policy != "":
		return nil, errors.New("phi: set policy_file or policy, not both")
	case c.PolicyFile != "":
		return LoadPolicyFile(c.PolicyFile)
	case c.Policy != "":
		return ParsePolicy([]byte(c.Policy))
	}
	return ParsePolicy(embeddedPolicy) // the default policy of the commit this distribution was built from
}

// engines shares one compiled engine (patterns, lexicon, memos) between the traces, logs and metrics
// processors of one configuration: the lexicon alone is ~9 MB.
var engines sync.Map // engineKey -> *Engine

type engineKey struct{ file, inline, lexicon, hmacEnv, hmacKey string }

func (c *Config) engine() (*Engine, error) {
	key := engineKey{c.PolicyFile, c.Policy, c.NameLexiconFile, c.HMACKeyEnv, ""}
	if c.HMACKeyEnv != "" {
		key.hmacKey = os.Getenv(c.HMACKeyEnv)
	}
	if c.PolicyFile != "" {
		if st, err := os.Stat(c.PolicyFile); err == nil {
			key.file = fmt.Sprintf("%s\x00%d\x00%d", c.PolicyFile, st.Size(), st.ModTime().UnixNano())
		}
	}
	if e, ok := engines.Load(key); ok {
		return e.(*Engine), nil
	}
	e, err := c.newEngine()
	if err != nil {
		return nil, err
	}
	actual, _ := engines.LoadOrStore(key, e)
	return actual.(*Engine), nil
}

func (c *Config) newEngine() (*Engine, error) {
	doc, err := c.document()
	if err != nil {
		return nil, err
	}
	var key []byte
	if doc.Replacement == "hmac" {
		if c.HMACKeyEnv == "" {
			return nil, errors.New("phi: the policy uses HMAC pseudonyms: set hmac_key_env")
		}
		key = []byte(os.Getenv(c.HMACKeyEnv))
		if len(key) < 16 {
			return nil, fmt.Errorf("phi: environment variable %s must hold an HMAC key of at least 16 bytes", c.HMACKeyEnv)
		}
	}
	lexicon := c.NameLexiconFile
	if lexicon == "" && c.PolicyFile != "" && doc.FreeText.NameLexicon.File != "" {
		lexicon = filepath.Join(filepath.Dir(c.PolicyFile), "..", filepath.FromSlash(doc.FreeText.NameLexicon.File))
	}
	if lexicon == "" && c.PolicyFile == "" && c.Policy == "" {
		lexicon = embeddedLexiconPath
	}
	return NewEngine(doc, key, lexicon)
}
