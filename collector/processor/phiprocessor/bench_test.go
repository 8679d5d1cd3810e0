package phiprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// clinicSpans: Django server spans as the app emits them (route, method, status, user agent, SQL child spans),
// with a new id in the URL each time (the memo cannot hide the scan) and one PHI value in every fourth span.
func clinicSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	r := rs.Resource().Attributes()
	r.PutStr("service.name", "clinic-web")
	r.PutStr("service.version", "2026.11.0")
	r.PutStr("deployment.environment.name", "production")
	r.PutStr("host.name", "clinic-web-7d9f8b6c5-x2x9k")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		a := s.Attributes()
		if i%2 == 0 {
			s.SetName("GET patients/<int:pk>/")
			a.PutStr("http.request.method", "GET")
			a.PutStr("http.route", "patients/<int:pk>/")
			a.PutStr("url.path", fmt.Sprintf("/patients/%d/", 100000+i))
			a.PutStr("url.scheme", "https")
			a.PutInt("http.response.status_code", 200)
			a.PutStr("server.address", "clinic.example.org")
			a.PutInt("server.port", 443)
			a.PutStr("client.address", "10.42.0.17")
			a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
			a.PutStr("network.protocol.version", "1.1")
			a.PutStr("clinic.operation", "patient.view")
		} else {
			s.SetName("SELECT clinic_patient")
			a.PutStr("db.system.name", "postgresql")
			a.PutStr("db.namespace", "clinic")
			a.PutStr("db.query.text", fmt.Sprintf(`SELECT "clinic_patient"."id", "clinic_patient"."mrn" FROM "clinic_patient" WHERE "clinic_patient"."id" = %d LIMIT 21`, 100000+i))
			a.PutStr("server.address", "postgres.clinic.svc")
			a.PutInt("server.port", 5432)
			a.PutStr("code.function.name", "clinic.views.patient_detail")
		}
		if i%4 == 3 {
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.type", "ValueError")
			ev.Attributes().PutStr("exception.message", fmt.Sprintf("lookup failed for MRN: A%06d (dob 1958-07-30)", i))
			s.Status().SetMessage("ValueError: lookup failed")
		}
	}
	return td
}

func clinicLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "clinic-web")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		r := recs.AppendEmpty()
		switch i % 4 {
		case 0:
			r.Body().SetStr(fmt.Sprintf("appointment %d confirmed for tomorrow 09:30", 5000+i))
		case 1:
			r.Body().SetStr(fmt.Sprintf("\"GET /api/appointments/?page=%d HTTP/1.1\" 200 18231", i))
		case 2:
			r.Body().SetStr(fmt.Sprintf("reminder sent to patient MRN: A%06d", i))
		default:
			r.Body().SetStr("cache miss for key session:")
		}
		r.Attributes().PutStr("code.function.name", "clinic.tasks.send_reminder")
		r.Attributes().PutStr("logger.name", "clinic.tasks")
		r.Attributes().PutInt("thread.id", 140234)
	}
	return ld
}

func BenchmarkTracesPerSpan(b *testing.B) {
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(componentType), testConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	batches := make([]ptrace.Traces, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		for j := range batches {
			if j == (i/batch)%len(batches) {
				batches[j] = clinicSpans(batch)
			}
		}
		td := batches[(i/batch)%len(batches)]
		b.StartTimer()
		if err := p.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogsPerRecord(b *testing.B) {
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(componentType), testConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		ld := clinicLogs(batch)
		b.StartTimer()
		if err := p.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
}

// Adversarial 100 KB values: the cap and the candidate budget keep the work bounded and linear.
func TestAdversarialValuesStayLinear(t *testing.T) {
	e := testEngine(t)
	shapes := map[string]string{
		"digits":   "1234 ",
		"emails":   "a@b.co ",
		"names":    "name: Jane Roe ",
		"ssn":      "123-45-6789 ",
		"no-space": "9",
		"quotes":   "'x",
		"sql-ish":  "' OR 1=1 -- ",
		"url":      "http://a/",
	}
	for name, unit := range shapes {
		small := strings.Repeat(unit, 10_000/len(unit))
		large := strings.Repeat(unit, 100_000/len(unit))
		timeIt := func(s string) time.Duration {
			best := time.Hour
			for i := 0; i < 3; i++ {
				start := time.Now()
				e.scrubTextUncached(s, new([]uint16))
				if d := time.Since(start); d < best {
					best = d
				}
			}
			return best
		}
		ts, tl := timeIt(small), timeIt(large)
		if tl > 50*time.Millisecond+30*ts {
			t.Errorf("%s: 10 KB %v, 100 KB %v: not linear", name, ts, tl)
		}
		t.Logf("%-9s 10 KB %8v  100 KB %8v", name, ts, tl)
	}
}
