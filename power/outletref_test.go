package power

import (
	"strings"
	"testing"
)

func TestParseOutletRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want OutletRef
		err  bool
	}{
		{"rack1/3", OutletRef{"rack1", 3}, false},
		{"r.a_c-k/24", OutletRef{"r.a_c-k", 24}, false},
		{"rack1/0", OutletRef{}, true},
		{"rack1/-1", OutletRef{}, true},
		{"rack1/x", OutletRef{}, true},
		{"rack1", OutletRef{}, true},
		{"/3", OutletRef{}, true},
		{"", OutletRef{}, true},
	} {
		got, err := ParseOutletRef(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseOutletRef(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), `write "pdu/N" with N from 1`) {
			t.Errorf("ParseOutletRef(%q): %v does not say how to write an outlet", tc.in, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
	var r OutletRef
	if err := r.UnmarshalText([]byte("rack2/5")); err != nil || r != (OutletRef{"rack2", 5}) {
		t.Errorf("UnmarshalText: %v, %v", r, err)
	}
	if err := r.UnmarshalText([]byte("rack2")); err == nil || r != (OutletRef{"rack2", 5}) {
		t.Errorf("UnmarshalText of a bad outlet: %v, %v; want an error and r unchanged", r, err)
	}
}
