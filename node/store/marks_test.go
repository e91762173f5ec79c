package store

import (
	"errors"
	"path/filepath"
	"testing"

	"carenode/crdt"
)

func TestMarksSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carenode.db")
	s := openAt(t, path, "N1")
	if v, err := s.Mark("hub/kiosk"); err != nil || len(v) != 0 {
		t.Fatalf("unknown mark: %v %v", v, err)
	}
	want := crdt.Vector{"N1": 7, "N2": 3}
	if err := s.SetMark("hub/kiosk", want); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMark("", want); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, "N1")
	got, err := s.Mark("hub/kiosk")
	if err != nil || got.String() != want.String() {
		t.Fatalf("after restart: %v %v, want %v", got, err, want)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
