package main

import "testing"

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestCellAndRatio(t *testing.T) {
	r := &row{Unit: "s", Vice: sideResult{Samples: []float64{0.3, 0.1, 0.2}}, Docker: sideResult{Samples: []float64{0.1}}}
	if got, want := r.cell(r.Vice), "200ms (100ms/300ms) ×3"; got != want {
		t.Errorf("cell = %q, want %q", got, want)
	}
	if got, want := r.ratio(), "2.00×"; got != want {
		t.Errorf("ratio = %q, want %q", got, want)
	}
	r.Vice = sideResult{Err: "boom"}
	if r.cell(r.Vice) != "FAILED" || r.ratio() != "-" {
		t.Errorf("a failed side: cell %q ratio %q", r.cell(r.Vice), r.ratio())
	}
}
