package phiprocessor

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

const lexiconPath = "../../../otel_clinic/scrubbing/data/names.txt.gz"

func testConfig() *Config { return &Config{PolicyFile: policyPath} }

func mutatePolicy(t *testing.T, fn func(m map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, _ := json.Marshal(m)
	return string(out)
}

func TestConfigRefusesWhatItCannotApply(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatalf("shipped policy must validate: %v", err)
	}
	cases := map[string]func(m map[string]any){
		"unsupported policy document format": func(m map[string]any) { m["format"] = "otel-clinic-policy/2" },
		"unknown validator":                  func(m map[string]any) { m["detectors"].([]any)[0].(map[string]any)["validator"] = "crc32" },
		"unknown trim":                       func(m map[string]any) { m["detectors"].([]any)[0].(map[string]any)["trim"] = "first_word" },
		"unknown rewrite":                    func(m map[string]any) { m["detectors"].([]any)[0].(map[string]any)["rewrite"] = "email_text" },
		"unknown boundary":                   func(m map[string]any) { m["detectors"].([]any)[0].(map[string]any)["boundary"] = "sentence" },
		"unknown free-text rule": func(m map[string]any) {
			ft := m["free_text"].(map[string]any)
			ft["rules"] = append(ft["rules"].([]any), "phones_by_ml")
		},
		"hmac_key_env":  func(m map[string]any) { m["replacement"] = "hmac" },
		"value pattern": func(m map[string]any) { m["detectors"].([]any)[0].(map[string]any)["value"] = "(?<=x)y" },
	}
	for want, fn := range cases {
		cfg := &Config{Policy: mutatePolicy(t, fn), NameLexiconFile: lexiconPath}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	if err := (&Config{Policy: mutatePolicy(t, func(map[string]any) {})}).Validate(); err == nil || !strings.Contains(err.Error(), "name_lexicon_file") {
		t.Errorf("an inline policy whose free-text rules need names, without a lexicon, must not validate: %v", err)
	}
	// With neither policy_file nor policy the embedded default policy and lexicon apply (and must be current).
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("the embedded default policy must validate: %v", err)
	}
	embedded, err := (&Config{}).engine()
	if err != nil || embedded.freeText == nil {
		t.Fatalf("embedded engine: %v", err)
	}
	if got := embedded.ScrubText("created patient amara okafor", nil); got != "created patient [NAME]" {
		t.Errorf("embedded policy and lexicon: got %q", got)
	}
	if err := (&Config{PolicyFile: policyPath, Policy: "{}"}).Validate(); err == nil {
		t.Error("policy_file and policy together must not validate")
	}
}

func TestHMACPseudonyms(t *testing.T) {
	t.Setenv("PHI_TEST_KEY", "0123456789abcdef0123")
	cfg := &Config{Policy: mutatePolicy(t, func(m map[string]any) { m["replacement"] = "hmac" }), HMACKeyEnv: "PHI_TEST_KEY", NameLexiconFile: lexiconPath}
	e, err := cfg.engine()
	if err != nil {
		t.Fatal(err)
	}
	a := e.ScrubText("ssn 078-05-1120", nil)
	b := e.ScrubText("SSN: 078-05-1120", nil)
	if !strings.HasPrefix(a, "ssn [SSN:") || a[len(a)-11:] != b[len(b)-11:] {
		t.Fatalf("pseudonyms must be stable per value: %q %q", a, b)
	}
}

func TestTracesOnePass(t *testing.T) {
	sink := new(consumertest.TracesSink)
	f := NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(componentType), testConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "clinic-web")
	rs.Resource().Attributes().PutStr("enduser.id", "jane@example.org")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("note", "call 555-867-5309")
	span := ss.Spans().AppendEmpty()
	span.SetName("GET /patients/00135799/")
	a := span.Attributes()
	a.PutStr("http.route", "patients/<int:pk>/")
	a.PutStr("url.full", "https://clinic.example/patients/00135799/?email=a@b.org")
	a.PutStr("db.statement", "SELECT * FROM p WHERE ssn = '078-05-1120'")
	a.PutStr("patient.first_name", "Amara")
	a.PutStr("server.address", "10.1.2.3")
	a.PutInt("card", 4111111111111111)
	a.PutInt("http.response.status_code", 200)
	a.PutEmptySlice("clinic.emails").AppendEmpty().SetStr("a@b.org")
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "invalid literal for int() with base 10: '078-05-1120'")
	ev.Attributes().PutStr("exception.stacktrace", "Traceback (most recent call last):\n  File \"/app/v.py\", line 3, in v\n    int(x)\nValueError: bad SSN 078-05-1120\n")
	span.Links().AppendEmpty().Attributes().PutStr("comment", "jane@example.org")
	span.Status().SetMessage("patient MRN: A12345 not found")
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := sink.AllTraces()[0].ResourceSpans().At(0)
	out := got.ScopeSpans().At(0).Spans().At(0)
	want := map[string]string{
		"url.full":           "https://clinic.example/patients/<int:pk>/",
		"db.statement":       "SELECT * FROM p WHERE ssn = ?",
		"patient.first_name": "[REDACTED]",
		"server.address":     "[IP]",
		"card":               "[CARD]",
		"http.route":         "patients/<int:pk>/",
	}
	for k, w := range want {
		v, _ := out.Attributes().Get(k)
		if v.AsString() != w {
			t.Errorf("%s = %q, want %q", k, v.AsString(), w)
		}
	}
	if v, _ := out.Attributes().Get("http.response.status_code"); v.Int() != 200 {
		t.Error("ints under safe keys stay ints")
	}
	if v, _ := out.Attributes().Get("clinic.emails"); v.AsString() != "[REDACTED]" {
		t.Errorf("slice under a sensitive key: %v", v.AsRaw())
	}
	if out.Name() != "GET /patients/<int:pk>/" && out.Name() != "GET patients/<int:pk>/" {
		t.Errorf("span name %q", out.Name())
	}
	if m, _ := out.Events().At(0).Attributes().Get("exception.message"); m.Str() != "invalid literal for int() with base 10: '[SSN]'" {
		t.Errorf("exception.message %q", m.Str())
	}
	if st, _ := out.Events().At(0).Attributes().Get("exception.stacktrace"); !strings.Contains(st.Str(), "bad SSN [SSN]") || !strings.Contains(st.Str(), `File "/app/v.py", line 3`) {
		t.Errorf("stacktrace %q", st.Str())
	}
	if l, _ := out.Links().At(0).Attributes().Get("comment"); l.Str() != "[REDACTED]" {
		t.Errorf("link attribute %q", l.Str())
	}
	if out.Status().Message() != "patient MRN: [MRN] not found" {
		t.Errorf("status %q", out.Status().Message())
	}
	if v, _ := got.Resource().Attributes().Get("enduser.id"); v.Str() != "[REDACTED]" {
		t.Errorf("resource attribute %q", v.Str())
	}
	if v, _ := got.Resource().Attributes().Get("service.name"); v.Str() != "clinic-web" {
		t.Errorf("service.name %q", v.Str())
	}
	if v, _ := got.ScopeSpans().At(0).Scope().Attributes().Get("note"); v.Str() != "[REDACTED]" {
		t.Errorf("scope attribute %q", v.Str())
	}
}

func TestLogsBodiesAndAttributes(t *testing.T) {
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(componentType), testConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	r1 := recs.AppendEmpty()
	r1.Body().SetStr("lookup failed for 123-45-6789")
	r1.Attributes().PutStr("email", "a@b.org")
	r2 := recs.AppendEmpty()
	m := r2.Body().SetEmptyMap()
	m.PutStr("ssn", "078-05-1120")
	m.PutStr("msg", "call 555-867-5309")
	m.PutInt("count", 3)
	r3 := recs.AppendEmpty()
	r3.Body().SetStr(`{"patient": {"dob": "1958-07-30"}, "ok": true}`)
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	if out.At(0).Body().Str() != "lookup failed for [SSN]" {
		t.Errorf("string body %q", out.At(0).Body().Str())
	}
	if v, _ := out.At(0).Attributes().Get("email"); v.Str() != "[REDACTED]" {
		t.Errorf("attribute %q", v.Str())
	}
	body := out.At(1).Body().Map()
	if v, _ := body.Get("ssn"); v.Str() != "[REDACTED]" {
		t.Errorf("structured body ssn %q", v.Str())
	}
	if v, _ := body.Get("msg"); v.Str() != "call [PHONE]" {
		t.Errorf("structured body msg %q", v.Str())
	}
	if v, _ := body.Get("count"); v.Int() != 3 {
		t.Errorf("structured body int %v", v.AsRaw())
	}
	if got := out.At(2).Body().Str(); got != `{"patient": "[REDACTED]", "ok": true}` {
		t.Errorf("JSON body %q", got)
	}
}

func TestMetricsDataPointAttributes(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	cfg := testConfig()
	cfg.DropUnlistedMetricAttributes = true
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(componentType), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("reason", "duplicate MRN 00555111")
	dp.Attributes().PutStr("http.route", "api/x")
	dp.Attributes().PutStr("patient_id", "42")
	if err := p.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	attrs := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).Attributes()
	if v, _ := attrs.Get("reason"); v.Str() != "duplicate MRN [MRN]" {
		t.Errorf("reason %q", v.Str())
	}
	if _, ok := attrs.Get("patient_id"); ok {
		t.Error("unlisted metric attribute keys are dropped when configured")
	}
	if v, _ := attrs.Get("http.route"); v.Str() != "api/x" {
		t.Error("listed keys stay")
	}
}

func TestValueSizeCapAndLinearity(t *testing.T) {
	e := testEngine(t)
	big := strings.Repeat("note 123-45-6789 ", 7000) // ~119 KB
	out := e.ScrubText(big, nil)
	if !strings.HasSuffix(out, "…[TRUNCATED]") || len(out) > e.maxBytes+64 {
		t.Fatalf("value cap: len %d suffix %q", len(out), out[len(out)-20:])
	}
	if strings.Contains(out, "6789") {
		t.Fatal("a truncated value is still scrubbed")
	}
}

func TestFailClosedOnPanic(t *testing.T) {
	e := testEngine(t)
	// A rewrite name that cannot occur in a validated document panics inside the engine: the value is replaced.
	e.detectors[0].rewrite = "bogus"
	if out := e.ScrubText("see https://portal.example/p/1", nil); out != "[REDACTED]" {
		t.Fatalf("internal error must fail closed, got %q", out)
	}
}
