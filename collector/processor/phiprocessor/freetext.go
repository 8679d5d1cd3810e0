package phiprocessor

// freeText is the free-text filter of freetext.py (quoted literals, dates, identifier shapes, addresses, names).
type freeText struct {
	e *Engine
}

func newFreeText(e *Engine) *freeText { return &freeText{e: e} }

func (f *freeText) apply(text string, found *[]uint16, depth int) string { return text }

func (f *freeText) bareValueIsData(value string) bool { return false }

func (f *freeText) isName(value string) bool { return false }
