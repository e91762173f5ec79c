package nodeconf

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateSync(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    SyncSection
		keys []string
	}{
		{"default", defaultSync(), nil},
		{"all set", SyncSection{Listen: "0.0.0.0:7443", Interval: Duration{0}, Debounce: Duration{time.Second},
			DiscoveryBind: "192.168.1.23:7946", DiscoveryJoin: "192.168.1.10:7946,desk1:7946", DiscoveryAdvertise: "desk1.lan"}, nil},
		{"bad listen", SyncSection{Listen: "7443"}, []string{"sync.listen"}},
		{"negative durations", SyncSection{Interval: Duration{-time.Second}, Debounce: Duration{-time.Second}},
			[]string{"sync.interval", "sync.debounce"}},
		{"bind not an IP", SyncSection{DiscoveryBind: "desk1:7946"}, []string{"sync.discovery_bind"}},
		{"join without bind", SyncSection{DiscoveryJoin: "10.0.0.1:7946"}, []string{"sync.discovery_bind"}},
		{"bad seed", SyncSection{DiscoveryBind: "0.0.0.0:7946", DiscoveryJoin: "10.0.0.1:7946,10.0.0.2"}, []string{"sync.discovery_join"}},
		{"advertise with port", SyncSection{DiscoveryBind: "0.0.0.0:7946", DiscoveryAdvertise: "10.0.0.1:7443"}, []string{"sync.discovery_advertise"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []string
			for _, err := range tc.s.problems() {
				var ve *ValueError
				if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("%v is not a *ValueError", err)
				}
				// Every problem reads in both languages.
				if zh := ve.Message("zh"); zh == ve.Message("en") || !strings.ContainsFunc(zh, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
					t.Errorf("%s: no Chinese message: %q", ve.Key, zh)
				}
				keys = append(keys, ve.Key)
			}
			if !slices.Equal(keys, tc.keys) {
				t.Errorf("problems at %v, want %v", keys, tc.keys)
			}
		})
	}
	if got := (SyncSection{DiscoveryJoin: " a:1, ,b:2 "}).Seeds(); !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Errorf("Seeds: %v", got)
	}
}
