package phiprocessor

import (
	"runtime"
	"testing"
	"time"
)

func TestLexiconFootprint(t *testing.T) {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	start := time.Now()
	doc, _ := LoadPolicyFile(policyPath)
	nf, err := loadLexicon(lexiconPath, doc.FreeText.NameLexicon.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&b)
	t.Logf("lexicon: %d keys, %.1f MB heap, loaded in %v", len(nf.m), float64(b.HeapAlloc-a.HeapAlloc)/1e6, took)
	if len(nf.m) < 150_000 {
		t.Fatalf("lexicon has %d keys", len(nf.m))
	}
}
