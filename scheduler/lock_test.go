package scheduler

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "briefcast.db-scheduler.lock")
	release, err := LockFile(path)
	if err != nil {
		t.Fatalf("first LockFile: %v", err)
	}
	_, err = LockFile(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second LockFile = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the lock file", err)
	}
	release()
	release() // harmless twice
	again, err := LockFile(path)
	if err != nil {
		t.Fatalf("LockFile after release: %v", err)
	}
	again()
}

func TestLockFileNoFolder(t *testing.T) {
	_, err := LockFile(filepath.Join(t.TempDir(), "missing", "x.lock"))
	if err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("LockFile in a missing folder = %v", err)
	}
}
