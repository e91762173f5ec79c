package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/store"
)

// File names inside a data directory.
const (
	KeyFile     = "node.key"
	ConfigFile  = "config.toml"
	DBFile      = "carenode.db"
	RuntimeFile = "serve.json"
)

// Paths of a data directory's files.
func KeyPath(dir string) string     { return filepath.Join(dir, KeyFile) }
func ConfigPath(dir string) string  { return filepath.Join(dir, ConfigFile) }
func DBPath(dir string) string      { return filepath.Join(dir, DBFile) }
func RuntimePath(dir string) string { return filepath.Join(dir, RuntimeFile) }

// InitOptions say what node to create.
type InitOptions struct {
	Dir  string
	Name string
	Role nodeconf.Role
	// Rand is the key generator's randomness; nil means crypto/rand.
	Rand io.Reader
}

// InitResult describes the node Init made.
type InitResult struct {
	ID     identity.ID
	Dir    string
	Config nodeconf.File
}

// Init creates a node in opts.Dir: its key pair, config file and database.
// If the directory already holds any of them it returns ErrNodeExists and
// changes nothing; if a step fails, it removes what it made.
func Init(opts InitOptions) (res InitResult, err error) {
	if opts.Dir == "" {
		return res, errors.New("init: no directory given")
	}
	cfg := nodeconf.Default(opts.Name, opts.Role)
	if err := cfg.Validate(); err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	for _, p := range []string{KeyPath(opts.Dir), ConfigPath(opts.Dir), DBPath(opts.Dir)} {
		if _, err := os.Lstat(p); err == nil {
			return res, fmt.Errorf("init %s: %w (found %s)", opts.Dir, ErrNodeExists, filepath.Base(p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("init %s: %w", opts.Dir, err)
		}
	}
	var made []string
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i])
			}
		}
	}()
	if _, err := os.Stat(opts.Dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return res, fmt.Errorf("init: create %s: %w", opts.Dir, err)
		}
		made = append(made, opts.Dir)
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := identity.Generate(r)
	if err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	if err := id.Save(KeyPath(opts.Dir)); err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	made = append(made, KeyPath(opts.Dir))
	if err := nodeconf.WriteNew(ConfigPath(opts.Dir), cfg); err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	made = append(made, ConfigPath(opts.Dir))
	sopts := store.DefaultOptions(DBPath(opts.Dir), crdt.NodeID(id.ID))
	sopts.Create = true
	made = append(made, DBPath(opts.Dir))
	s, err := store.Open(sopts)
	if err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	if err := s.Close(); err != nil {
		return res, fmt.Errorf("init %s: %w", opts.Dir, err)
	}
	return InitResult{ID: id.ID, Dir: opts.Dir, Config: cfg}, nil
}

// LoadConfig reads dir's identity and config file.
func LoadConfig(dir string) (*identity.Identity, nodeconf.File, error) {
	if _, err := os.Stat(KeyPath(dir)); errors.Is(err, fs.ErrNotExist) {
		return nil, nodeconf.File{}, fmt.Errorf("%s: %w (no %s; run `carenode init --dir %s`)", dir, ErrNoNode, KeyFile, dir)
	}
	id, err := identity.Load(KeyPath(dir))
	if err != nil {
		return nil, nodeconf.File{}, err
	}
	cfg, err := nodeconf.Load(ConfigPath(dir))
	if err != nil {
		return nil, nodeconf.File{}, err
	}
	return id, cfg, nil
}

// Runtime is what serve.json says about a running node.
type Runtime struct {
	PID     int       `json:"pid"`
	Addr    string    `json:"addr"`
	Node    string    `json:"node"`
	Started time.Time `json:"started"`
	// Control is the bearer token the carenode CLI on this machine uses to
	// add accounts, read status and take backups while the node serves.
	// serve.json is readable by the node's owner only.
	Control string `json:"control,omitempty"`
}

// URL is the base URL of the running node's API.
func (r Runtime) URL() string { return "http://" + r.Addr }

// ReadRuntime reads dir's serve.json and checks the node answers there.
func ReadRuntime(ctx context.Context, dir string) (Runtime, error) {
	var rt Runtime
	b, err := os.ReadFile(RuntimePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return rt, fmt.Errorf("%s: %w", dir, ErrNotServing)
	}
	if err != nil {
		return rt, err
	}
	if err := json.Unmarshal(b, &rt); err != nil {
		return rt, fmt.Errorf("read %s: %w", RuntimePath(dir), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rt.URL()+"/healthz", nil)
	if err != nil {
		return rt, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rt, fmt.Errorf("%s: %w (serve.json names %s but nothing answers: %v)", dir, ErrNotServing, rt.Addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rt, fmt.Errorf("%s: %w (health check answered %s)", dir, ErrNotServing, resp.Status)
	}
	return rt, nil
}
