package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testutil/proc"
)

// BenchmarkVersionColdStart times `latchkey --version` as a process: the
// median of 30 runs. Target: < 10 ms. Shell completion runs the binary on
// every Tab, so package init work must stay out of the start path.
func BenchmarkVersionColdStart(b *testing.B) {
	bin := proc.Build(b)
	var med time.Duration
	for b.Loop() {
		med = proc.Median(b, 30, nil, bin, "--version")
	}
	b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
	fmt.Printf("latchkey --version: median %.1f ms of 30 runs (target < 10 ms)\n", float64(med.Microseconds())/1000)
}
