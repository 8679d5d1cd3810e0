// Compiles every regex read from stdin (a JSON array of strings) with Go's regexp package,
// the engine the OpenTelemetry Collector uses, and prints a JSON array of error strings ("" = ok).
// With -match, reads [{"pattern": p, "text": t}] and prints [[start, end], ...] of the first match (or [-1, -1]).
package main

import (
	"encoding/json"
	"flag"
	"os"
	"regexp"
)

type probe struct {
	Pattern string `json:"pattern"`
	Text    string `json:"text"`
}

func main() {
	match := flag.Bool("match", false, "report first-match spans for pattern/text pairs")
	flag.Parse()
	if *match {
		var probes []probe
		if err := json.NewDecoder(os.Stdin).Decode(&probes); err != nil {
			panic(err)
		}
		out := make([][]int, len(probes))
		for i, p := range probes {
			re := regexp.MustCompile(p.Pattern)
			loc := re.FindStringIndex(p.Text)
			if loc == nil {
				loc = []int{-1, -1}
			}
			out[i] = loc
		}
		json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	var patterns []string
	if err := json.NewDecoder(os.Stdin).Decode(&patterns); err != nil {
		panic(err)
	}
	errs := make([]string, len(patterns))
	for i, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			errs[i] = err.Error()
		}
	}
	json.NewEncoder(os.Stdout).Encode(errs)
}
