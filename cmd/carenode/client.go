package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"carenode/node"
	"carenode/node/roster"
	"carenode/node/staff"
)

// nodeClient is the CLI's way into a node serving on this machine: the
// commands that change a serving node's data go through its API, since the
// database is held by the running process.
type nodeClient struct {
	rt    node.Runtime
	token string // a session token, or the control token from serve.json
	lang  string // Accept-Language
}

func newNodeClient(rt node.Runtime) *nodeClient {
	return &nodeClient{rt: rt, token: rt.Control, lang: userLang()}
}

// remoteError is an error answer of the running node.
type remoteError struct {
	Status   int
	Code     string
	Message  string
	Zh       string
	Rejected []roster.Rejected
}

func (e *remoteError) Error() string {
	if e.Zh != "" && e.Zh != e.Message {
		return fmt.Sprintf("the running node refused (%d %s): %s / %s", e.Status, e.Code, e.Message, e.Zh)
	}
	return fmt.Sprintf("the running node refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// Unwrap gives the answers that have an exit code of their own their
// sentinel.
func (e *remoteError) Unwrap() error {
	switch e.Code {
	case "bad_login":
		return staff.ErrBadLogin
	case "too_many_attempts", "unauthorized", "forbidden":
		return errSignIn
	case "locked":
		if e.Status == http.StatusLocked {
			return errSignIn
		}
	}
	return nil
}

// do sends a request; a 2xx answer is decoded into out (when not nil) or
// copied to out when it is an io.Writer.
func (c *nodeClient) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.rt.URL()+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept-Language", c.lang)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s on the running node at %s: %w", method, path, c.rt.Addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb struct {
			Error struct {
				Code     string            `json:"code"`
				Message  string            `json:"message"`
				Zh       string            `json:"zh"`
				Rejected []roster.Rejected `json:"rejected"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return &remoteError{Status: resp.StatusCode, Code: "http", Message: fmt.Sprintf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(b))}
		}
		return &remoteError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Zh: eb.Error.Zh, Rejected: eb.Error.Rejected}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case io.Writer:
		_, err = io.Copy(o, resp.Body)
	default:
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return fmt.Errorf("%s %s on the running node at %s: %w", method, path, c.rt.Addr, err)
	}
	return nil
}

func (c *nodeClient) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, "application/json", bytes.NewReader(b), out)
}

// login signs name in on the running node and makes c use the session.
func (c *nodeClient) login(ctx context.Context, name string, password []byte) (staff.LoginResult, error) {
	var res staff.LoginResult
	err := c.postJSON(ctx, "/api/v1/auth/login", map[string]string{"name": name, "password": string(password)}, &res)
	if err != nil {
		return res, err
	}
	c.token = res.Token
	return res, nil
}

// logout ends the session login started; errors do not matter, the session
// expires anyway.
func (c *nodeClient) logout(ctx context.Context) {
	if c.token != "" && c.token != c.rt.Control {
		_ = c.do(ctx, http.MethodPost, "/api/v1/auth/logout", "", nil, nil)
	}
}

// isNotFoundRoute reports whether err is the node answering that it has no
// such route (an older carenode serving).
func isNotFoundRoute(err error) bool {
	var re *remoteError
	return errors.As(err, &re) && re.Status == http.StatusNotFound
}
