package phiprocessor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

type phiProcessor struct {
	e          *Engine
	cfg        *Config
	logger     *zap.Logger
	redactions metric.Int64Counter
	items      metric.Int64Counter
	detAttrs   []metric.AddOption // one precomputed label set per detector / rule name
	metricKeys map[string]bool
}

func newPhiProcessor(set processor.Settings, cfg *Config) (*phiProcessor, error) {
	e, err := cfg.engine()
	if err != nil {
		return nil, err
	}
	p := &phiProcessor{e: e, cfg: cfg, logger: set.Logger, metricKeys: set2(e.doc.MetricAttrKeys)}
	meter := set.MeterProvider.Meter("github.com/otel-clinic/otelcol-clinic/processor/phiprocessor")
	// Labels are detector / rule names from the policy and the signal: never values, never key names.
	if p.redactions, err = meter.Int64Counter("otelcol_processor_phi_redactions",
		metric.WithDescription("Values replaced by the PHI processor, per detector or rule"), metric.WithUnit("{redaction}")); err != nil {
		return nil, err
	}
	if p.items, err = meter.Int64Counter("otelcol_processor_phi_items",
		metric.WithDescription("Spans, log records and metric data points scrubbed by the PHI processor"), metric.WithUnit("{item}")); err != nil {
		return nil, err
	}
	for _, n := range e.HitNames() {
		p.detAttrs = append(p.detAttrs, metric.WithAttributes(attribute.String("detector", n)))
	}
	return p, nil
}

func set2(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

var errInternal = errors.New("phi: internal error while scrubbing; batch dropped (fail closed)")

func (p *phiProcessor) record(ctx context.Context, hits Hits, signal string, n int) {
	for i, c := range hits {
		if c > 0 {
			p.redactions.Add(ctx, c, p.detAttrs[i])
		}
	}
	p.items.Add(ctx, int64(n), metric.WithAttributes(attribute.String("signal", signal)))
}

// guard runs fn; a panic outside the engine's own fail-closed handling drops the batch instead of crashing.
func (p *phiProcessor) guard(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.logger.Error("phi processor internal error; batch dropped", zap.String("error", fmt.Sprint(r)))
			err = errInternal
		}
	}()
	fn()
	return nil
}

// ---------------------------------------------------------------------------------------------- traces

func (p *phiProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	hits := p.e.NewHits()
	err := p.guard(func() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			p.scrubMap(rs.Resource().Attributes(), "", hits)
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j)
				p.scrubMap(ss.Scope().Attributes(), "", hits)
				spans := ss.Spans()
				for k := 0; k < spans.Len(); k++ {
					p.scrubSpan(spans.At(k), hits)
				}
			}
		}
	})
	p.record(ctx, hits, "traces", td.SpanCount())
	return td, err
}

var httpMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"OPTIONS": true, "TRACE": true, "CONNECT": true, "_OTHER": true, "HTTP": true}

// ScrubSpanName is exporters.py guard_span_name: a raw path becomes the route (or a scrubbed path), then free text.
func (e *Engine) ScrubSpanName(name, route string, hits Hits) string {
	method, rest, _ := strings.Cut(name, " ")
	hasMethod := httpMethods[method] && rest != ""
	target := name
	if hasMethod {
		target = rest
	}
	if strings.ContainsAny(target, "/?") {
		var updated string
		if route != "" {
			if target == route {
				return name
			}
			updated = route
		} else {
			path, _, _ := strings.Cut(target, "?")
			path, _, _ = strings.Cut(path, "#")
			updated = scrubPath(path, "")
		}
		if hasMethod {
			updated = method + " " + updated
		}
		if updated != name {
			hits.add(e.hitIndex["span_name"])
		}
		name = updated
	}
	return e.ScrubText(name, hits)
}

func (p *phiProcessor) scrubSpan(span ptrace.Span, hits Hits) {
	attrs := span.Attributes()
	route := ""
	if v, ok := attrs.Get("http.route"); ok && v.Type() == pcommon.ValueTypeStr {
		route = v.Str()
	}
	if name := span.Name(); name != "" {
		if out := p.e.ScrubSpanName(name, route, hits); out != name {
			span.SetName(out)
		}
	}
	p.scrubMap(attrs, route, hits)
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if name := ev.Name(); name != "" {
			if out := p.e.ScrubText(name, hits); out != name {
				ev.SetName(out)
			}
		}
		p.scrubMap(ev.Attributes(), route, hits)
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		p.scrubMap(links.At(i).Attributes(), route, hits)
	}
	st := span.Status()
	if msg := st.Message(); msg != "" {
		if out := p.e.ScrubText(msg, hits); out != msg {
			st.SetMessage(out)
		}
	}
}

// ---------------------------------------------------------------------------------------------- attributes

// scrubMap applies the key rules to every attribute in place; values are only rewritten when they change.
func (p *phiProcessor) scrubMap(m pcommon.Map, route string, hits Hits) {
	if m.Len() == 0 {
		return
	}
	m.Range(func(k string, v pcommon.Value) bool {
		p.scrubAttr(k, v, route, hits)
		return true
	})
}

func (p *phiProcessor) scrubAttr(k string, v pcommon.Value, route string, hits Hits) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return
	case pcommon.ValueTypeStr:
		s := v.Str()
		out := p.e.ScrubKeyed(k, s, route, hits)
		if os, ok := out.(string); !ok || os != s {
			setValue(v, out)
		}
		return
	case pcommon.ValueTypeDouble:
		if p.e.keys.Classify(k) != ActSensitive {
			return // floats are never identifiers (engine.py _walk)
		}
	case pcommon.ValueTypeBool:
		if p.e.keys.Classify(k) != ActSensitive {
			return
		}
	case pcommon.ValueTypeInt:
		if a := p.e.keys.Classify(k); a != ActSensitive && (a == ActSafe || v.Int() < 1_000_000_000_000) {
			return
		}
	}
	in := fromPData(v)
	out := p.e.ScrubKeyed(k, in, route, hits)
	if !sameValue(in, out) {
		setValue(v, out)
	}
}

func fromPData(v pcommon.Value) Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := 0; i < s.Len(); i++ {
			out[i] = fromPData(s.At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		om := &OrderedMap{}
		v.Map().Range(func(k string, x pcommon.Value) bool {
			om.Set(k, fromPData(x))
			return true
		})
		return om
	}
	return nil
}

func sameValue(a, b Value) bool {
	switch x := a.(type) {
	case string, int64, float64, bool, nil:
		return a == b
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	}
	return false // containers: rewrite (cheap relative to the scan, and always correct)
}

func setValue(v pcommon.Value, out Value) {
	switch x := out.(type) {
	case string:
		v.SetStr(x)
	case int64:
		v.SetInt(x)
	case float64:
		v.SetDouble(x)
	case bool:
		v.SetBool(x)
	case jsonNumber:
		v.SetStr(x.text)
	case []byte:
		v.SetEmptyBytes().FromRaw(x)
	case nil:
		v.SetStr("")
	case []any:
		s := v.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, it := range x {
			setValue(s.AppendEmpty(), it)
		}
	case *OrderedMap:
		m := v.SetEmptyMap()
		m.EnsureCapacity(len(x.Keys))
		for i, k := range x.Keys {
			setValue(m.PutEmpty(k), x.Values[i])
		}
	default:
		v.SetStr(fmt.Sprint(x))
	}
}

// ---------------------------------------------------------------------------------------------- logs

func (p *phiProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	hits := p.e.NewHits()
	err := p.guard(func() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rl := rls.At(i)
			p.scrubMap(rl.Resource().Attributes(), "", hits)
			sls := rl.ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				sl := sls.At(j)
				p.scrubMap(sl.Scope().Attributes(), "", hits)
				recs := sl.LogRecords()
				for k := 0; k < recs.Len(); k++ {
					r := recs.At(k)
					p.scrubBody(r.Body(), hits)
					p.scrubMap(r.Attributes(), "", hits)
				}
			}
		}
	})
	p.record(ctx, hits, "logs", ld.LogRecordCount())
	return ld, err
}

// scrubBody: a string body is free text; a structured body is walked (keys scrubbed, values under key rules).
func (p *phiProcessor) scrubBody(b pcommon.Value, hits Hits) {
	switch b.Type() {
	case pcommon.ValueTypeEmpty, pcommon.ValueTypeBool, pcommon.ValueTypeDouble:
		return
	case pcommon.ValueTypeStr:
		s := b.Str()
		if out := p.e.ScrubText(s, hits); out != s {
			b.SetStr(out)
		}
		return
	}
	in := fromPData(b)
	out := p.e.ScrubValue(in, hits)
	if !sameValue(in, out) {
		setValue(b, out)
	}
}

// ScrubValue scrubs any value with no key (a log body). Never panics.
func (e *Engine) ScrubValue(v Value, hits Hits) (out Value) {
	defer func() {
		if r := recover(); r != nil {
			hits.add(e.hitIndex["scrub_error"])
			out = e.redacted
		}
	}()
	return e.walk(v, nil, hits, 0)
}

// ---------------------------------------------------------------------------------------------- metrics

func (p *phiProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	hits := p.e.NewHits()
	points := 0
	err := p.guard(func() {
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			rm := rms.At(i)
			p.scrubMap(rm.Resource().Attributes(), "", hits)
			sms := rm.ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				sm := sms.At(j)
				p.scrubMap(sm.Scope().Attributes(), "", hits)
				ms := sm.Metrics()
				for k := 0; k < ms.Len(); k++ {
					points += p.scrubMetric(ms.At(k), hits)
				}
			}
		}
	})
	p.record(ctx, hits, "metrics", points)
	return md, err
}

func (p *phiProcessor) point(attrs pcommon.Map, hits Hits) {
	if p.cfg.DropUnlistedMetricAttributes {
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return !p.metricKeys[k] })
	}
	p.scrubMap(attrs, "", hits)
}

func (p *phiProcessor) scrubMetric(m pmetric.Metric, hits Hits) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p.point(dps.At(i).Attributes(), hits)
		}
		return dps.Len()
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p.point(dps.At(i).Attributes(), hits)
		}
		return dps.Len()
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p.point(dps.At(i).Attributes(), hits)
		}
		return dps.Len()
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p.point(dps.At(i).Attributes(), hits)
		}
		return dps.Len()
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p.point(dps.At(i).Attributes(), hits)
		}
		return dps.Len()
	}
	return 0
}
