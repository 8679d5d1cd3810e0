package phiprocessor

import _ "embed"

// The policy document and name lexicon of the commit the distribution was built from: with no policy_file and
// no inline policy the processor applies exactly the Python package's default policy, and a deployment needs no
// extra files (the lexicon is too large for a Kubernetes ConfigMap anyway). Copies of collector/phi-policy.json
// and otel_clinic/scrubbing/data/names.txt.gz; tests/scrubbing/test_policy_document.py fails when they differ.

//go:embed embedded/phi-policy.json
var embeddedPolicy []byte

//go:embed embedded/names.txt.gz
var embeddedLexicon []byte

// embeddedLexiconPath stands for the embedded lexicon where a lexicon path is expected.
const embeddedLexiconPath = "embedded:names.txt.gz"
