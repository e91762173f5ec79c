package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"carenode/crdt"
	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/store"
)

// Records is what the API needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	ChangesAfter(after crdt.Vector, limit int) (store.ChangePage, error)
	ApplyRemote(changes []crdt.Change) (store.ApplyResult, error)
	Stats() (store.Stats, error)
	Backup(w io.Writer) (int64, error)
}

var _ Records = (*store.Store)(nil)

// Info describes the node for /healthz and /api/v1/status.
type Info struct {
	Node    string `json:"node"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Version string `json:"version"`
}

// Options configure a Server.
type Options struct {
	Records Records
	Info    Info
	// MaxBody caps request bodies in bytes.
	MaxBody int64
	// MaxPage caps the records or changes one GET returns.
	MaxPage int
	// Now reads the wall clock for new record ids; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Instrument wraps each route's handler (metrics); nil means none.
	Instrument func(route string, h http.Handler) http.Handler
	// Metrics serves /metrics; nil leaves the route out.
	Metrics http.Handler
	// Staff signs people in. With Staff set every route but /healthz,
	// /metrics and login needs a bearer token whose role may call it; nil
	// (unit tests of the generic record API) leaves the API open.
	Staff Staff
	// ControlToken, when set, lets the carenode CLI on this machine add
	// accounts, read status and take backups (see controlAllowed).
	ControlToken string
	// Patients serves /api/v1/patients; nil leaves those routes out.
	Patients Patients
	// Each of these serves its routes (declared in the file named); nil
	// leaves them out.
	Readings Readings // readings.go: device readings, review queue, devices, ports
	Followup Followup // followup.go: plans, templates, tasks, attempts, alerts
	Booking  Booking  // booking.go: departments, schedules, slots, appointments
	Outbox   Outbox   // outbox.go: queued messages
	Feedback Feedback // feedback.go: surveys, cases, education
	// Devices returns the device front ends' admin once they run (devices.go);
	// nil, or a nil answer, and those routes say the front ends are off.
	Devices func() DeviceAdmin
}

// routeFunc adds a route that needs perm; see New.
type routeFunc = func(pattern string, perm auth.Permission, h func(http.ResponseWriter, *http.Request) error)

// Server serves the API.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// New builds the routes.
func New(opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxPage <= 0 {
		opts.MaxPage = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger.With("subsystem", "api"), mux: http.NewServeMux()}
	route := func(pattern string, perm auth.Permission, h func(http.ResponseWriter, *http.Request) error) {
		var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ar, err := s.authorize(r, perm)
			if err == nil {
				err = h(w, ar)
			}
			if err != nil {
				s.writeError(w, r, err)
			}
		})
		if opts.Instrument != nil {
			handler = opts.Instrument(pattern, handler)
		}
		s.mux.Handle(pattern, handler)
	}
	route("GET /healthz", public, s.healthz)
	route("GET /api/v1/status", signedIn, s.status)
	route("GET /api/v1/backup", auth.PermBackup, s.backup)
	route("GET /api/v1/changes", auth.PermRecordsRead, s.changes)
	route("POST /api/v1/changes", auth.PermRecordsWrite, s.applyChanges)
	route("GET /api/v1/records/{collection}", auth.PermRecordsRead, s.list)
	route("POST /api/v1/records/{collection}", auth.PermRecordsWrite, s.create)
	route("GET /api/v1/records/{collection}/{id}", auth.PermRecordsRead, s.get)
	route("PATCH /api/v1/records/{collection}/{id}", auth.PermRecordsWrite, s.patch)
	route("DELETE /api/v1/records/{collection}/{id}", auth.PermRecordsWrite, s.delete)
	if opts.Staff != nil {
		route("POST /api/v1/auth/login", public, s.login)
		route("POST /api/v1/auth/logout", signedIn, s.logout)
		route("GET /api/v1/auth/me", signedIn, s.me)
		route("GET /api/v1/staff", auth.PermUsersManage, s.listStaff)
		route("POST /api/v1/staff", auth.PermUsersManage, s.addStaff)
		route("POST /api/v1/auth/password", signedIn, s.changePassword)
		route("POST /api/v1/staff/{name}/password", auth.PermUsersManage, s.resetPassword)
	}
	if opts.Patients != nil {
		s.patientRoutes(route)
	}
	if opts.Readings != nil {
		s.readingRoutes(route)
	}
	if opts.Followup != nil {
		s.followupRoutes(route)
	}
	if opts.Booking != nil {
		s.bookingRoutes(route)
	}
	if opts.Outbox != nil {
		s.outboxRoutes(route)
	}
	if opts.Feedback != nil {
		s.feedbackRoutes(route)
	}
	if opts.Devices != nil {
		s.deviceAdminRoutes(route)
	}
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics)
	}
	return s
}

// ServeHTTP implements http.Handler. A method the route does not allow
// gets a JSON 405 rather than the mux's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(&jsonErrorWriter{ResponseWriter: w, r: r, s: s}, r)
}

// jsonErrorWriter turns the mux's own plain-text 405 into the JSON form.
type jsonErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	s       *Server
	swallow bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	// Our handlers always set the JSON content type before writing a
	// status; a 404 or 405 without it comes from the mux itself.
	if (code == http.StatusMethodNotAllowed || code == http.StatusNotFound) && j.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		j.swallow = true
		j.Header().Del("X-Content-Type-Options")
		detail := errorDetail{Code: CodeNotFound, Message: "no such route: " + j.r.Method + " " + j.r.URL.Path, Zh: zh[CodeNotFound]}
		if code == http.StatusMethodNotAllowed {
			detail = errorDetail{Code: CodeMethod,
				Message: j.r.Method + " is not allowed on " + j.r.URL.Path + "; allowed: " + j.Header().Get("Allow"), Zh: zh[CodeMethod]}
		}
		writeJSON(j.ResponseWriter, code, errorBody{Error: detail})
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrorWriter) Write(b []byte) (int, error) {
	if j.swallow {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	body := map[string]any{"status": "ok", "node": s.opts.Info.Node}
	if s.opts.Staff != nil {
		// Whether anyone has signed in yet: says nothing about any patient.
		body["locked"] = s.opts.Staff.Locked()
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

type statusBody struct {
	Info
	Store store.Stats `json:"store"`
	// Locked says whether patient data is sealed away (nobody has signed in
	// since the node started); absent on a node without accounts.
	Locked *bool `json:"locked,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.opts.Records.Stats()
	if err != nil {
		return err
	}
	body := statusBody{Info: s.opts.Info, Store: st}
	if s.opts.Staff != nil {
		locked := s.opts.Staff.Locked()
		body.Locked = &locked
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="carenode.db"`)
	n, err := s.opts.Records.Backup(w)
	switch {
	case err == nil:
		return nil
	case n == 0:
		// Nothing sent yet: answer with a JSON error, not an empty "backup".
		w.Header().Del("Content-Disposition")
		return err
	}
	// The status and part of the file are gone. Abort the response so the
	// client sees a broken transfer rather than a cleanly ended short file.
	s.log.Error("backup stream failed", "err", err, "sent", n)
	panic(http.ErrAbortHandler)
}

// decode reads a JSON body strictly into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apiError{status: http.StatusUnsupportedMediaType, code: CodeMediaType, msg: "request body must be application/json, not " + ct}
		}
	}
	// Read whole (it is capped) so the duplicate-key scan below sees the
	// same bytes the decoder did.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("request body has data after the JSON value")
	}
	// Decoding null into a struct succeeds and leaves it empty, which would
	// create an empty record; every body here is an object.
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return badRequest("request body must be a JSON object, not JSON null")
	}
	// encoding/json keeps the last of duplicate keys without a word.
	if key, path, dup := care.DuplicateKey(body); dup {
		return badRequest(fmt.Sprintf("duplicate key %q in request body (at %s); send each key once", key, path))
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body ends in the middle of the JSON value")
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err))
	case errors.As(err, &typ) && typ.Field == "":
		// The body itself has the wrong type; the Go type name means nothing to a client.
		return badRequest("request body must be a JSON object, not JSON " + typ.Value)
	case errors.As(err, &typ):
		return badRequest(fmt.Sprintf("field %q: want %s, got JSON %s", typ.Field, typ.Type, typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + " in request body")
	}
	return badRequest("bad JSON body: " + err.Error())
}

// query parses the request's query string. r.URL.Query drops what it
// cannot parse (a ';' separator, a bad %-escape), which would turn a
// malformed "after" into "from the start" without a word.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: " + err.Error())
	}
	return q, nil
}

func pageLimit(q url.Values, max int) (int, error) {
	text := q.Get("limit")
	if text == "" {
		return max, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return 0, badRequest("limit must be a positive whole number, not " + strconv.Quote(text))
	}
	return min(n, max), nil
}

func newID(now time.Time) string { return store.NewRecordID(now) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// compact returns v's JSON without insignificant space, so equal values
// are equal bytes.
func compact(v json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
