package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"carenode/node/auth"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/roster"
)

// Patients is what the API needs of the chart service.
type Patients interface {
	Register(ctx context.Context, a chart.Actor, in care.PatientInput, force bool) (chart.RegisterResult, error)
	Get(ctx context.Context, a chart.Actor, id string) (chart.Patient, error)
	Update(ctx context.Context, a chart.Actor, id string, body []byte, ifMatch string) (chart.Patient, error)
	Resolve(ctx context.Context, a chart.Actor, id, field string, value json.RawMessage) (chart.Patient, error)
	AddAllergy(ctx context.Context, a chart.Actor, id string, in care.AllergyInput) (chart.Patient, error)
	AddDiagnosis(ctx context.Context, a chart.Actor, id string, in care.DiagnosisInput) (chart.Patient, []care.Problem, error)
	AddMedication(ctx context.Context, a chart.Actor, id string, in care.MedicationInput) (chart.Patient, error)
	AddTag(ctx context.Context, a chart.Actor, id, tag string) (chart.Patient, error)
	RemoveElement(ctx context.Context, a chart.Actor, id, set, elem string) (chart.Patient, error)
	Assign(ctx context.Context, a chart.Actor, id, nurse string, remove bool) (chart.Patient, error)
	Merge(ctx context.Context, a chart.Actor, from, into string) (chart.Patient, error)
	IssueCard(ctx context.Context, a chart.Actor, id string) (chart.Patient, error)
	Search(a chart.Actor, q string, limit int) ([]chart.Summary, error)
	Duplicates(a chart.Actor) ([]chart.Duplicate, error)
	Conflicts(a chart.Actor) ([]chart.Conflicted, error)
	Audit(ctx context.Context, a chart.Actor, id string) ([]chart.AuditEvent, error)
	Refresh(ids []string) error
	Import(ctx context.Context, a chart.Actor, rows []roster.Row, skipBad bool, progress func(done, total int)) (chart.ImportResult, error)
	Export(ctx context.Context, a chart.Actor, fn func(chart.Patient) error) error
}

// patientRoutes adds the /api/v1/patients routes.
func (s *Server) patientRoutes(route func(string, auth.Permission, func(http.ResponseWriter, *http.Request) error)) {
	route("POST /api/v1/patients", auth.PermPatientWrite, s.registerPatient)
	route("GET /api/v1/patients", auth.PermPatientSearch, s.searchPatients)
	route("GET /api/v1/patients/{id}", auth.PermPatientRead, s.getPatient)
	route("PATCH /api/v1/patients/{id}", auth.PermPatientWrite, s.updatePatient)
	route("POST /api/v1/patients/{id}/allergies", auth.PermPatientWrite, s.addAllergy)
	route("POST /api/v1/patients/{id}/diagnoses", auth.PermPatientWrite, s.addDiagnosis)
	route("POST /api/v1/patients/{id}/medications", auth.PermPatientWrite, s.addMedication)
	route("POST /api/v1/patients/{id}/tags", auth.PermPatientWrite, s.addTag)
	route("DELETE /api/v1/patients/{id}/{set}/{elem}", auth.PermPatientWrite, s.removeElement)
	route("POST /api/v1/patients/{id}/merge", auth.PermPatientMerge, s.mergePatient)
	route("POST /api/v1/patients/{id}/card", auth.PermPatientWrite, s.issueCard)
	route("GET /api/v1/patients/{id}/conflicts", auth.PermPatientRead, s.patientConflicts)
	route("POST /api/v1/patients/{id}/conflicts/resolve", auth.PermPatientMerge, s.resolveConflict)
	route("POST /api/v1/patients/{id}/assignees", auth.PermPatientAssign, s.assign(false))
	route("DELETE /api/v1/patients/{id}/assignees/{nurse}", auth.PermPatientAssign, s.assign(true))
	route("GET /api/v1/patients/{id}/audit", auth.PermAuditRead, s.patientAudit)
	route("GET /api/v1/duplicates", auth.PermPatientMerge, s.duplicates)
	route("GET /api/v1/conflicts", auth.PermPatientMerge, s.conflicts)
	route("POST /api/v1/patients/import", auth.PermPatientImport, s.importRoster)
	route("GET /api/v1/patients/export", auth.PermPatientExport, s.exportCharts)
}

// maxRosterBytes caps an uploaded roster: 200,000 rows of a wide clinic
// spreadsheet fit with room to spare.
const maxRosterBytes = 64 << 20

// importRoster takes a roster CSV (UTF-8 or GB18030, Chinese or English
// headers) as the request body and imports it whole or not at all; with
// ?skipBadRows=true the rows that cannot be imported are left out instead.
// Either way the answer lists every rejected row with its reasons.
func (s *Server) importRoster(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	skip := q.Get("skipBadRows") == "true"
	lang := care.Lang(r.Header.Get("Accept-Language"))
	opts := roster.DefaultOptions(s.opts.Now())
	opts.Lang = lang
	parsed, err := roster.Parse(http.MaxBytesReader(w, r.Body, maxRosterBytes), opts, nil)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &apiError{status: http.StatusBadRequest, code: CodeInvalid, msg: err.Error()}
	}
	if len(parsed.Rejected) > 0 && !skip {
		return rosterRefused(parsed)
	}
	res, err := s.opts.Patients.Import(r.Context(), actor(r), parsed.Rows, skip, nil)
	var ie *chart.ImportError
	if errors.As(err, &ie) {
		parsed.Rejected = append(parsed.Rejected, ie.Rejected...)
		return rosterRefused(parsed)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importOut{Imported: res.Imported, IDs: res.IDs,
		Rejected: rejectedRows(append(parsed.Rejected, res.Rejected...))})
	return nil
}

type importOut struct {
	Imported int           `json:"imported"`
	IDs      []string      `json:"ids"`
	Rejected []rejectedRow `json:"rejected,omitempty"`
}

// rejectedRow is a refused roster row without its fields, which are
// personal data and stay out of answers and logs.
type rejectedRow struct {
	Line     int            `json:"line"`
	Problems []care.Problem `json:"problems"`
}

func rejectedRows(rs []roster.Rejected) []rejectedRow {
	out := make([]rejectedRow, 0, len(rs))
	for _, r := range rs {
		out = append(out, rejectedRow{Line: r.Line, Problems: r.Problems})
	}
	return out
}

func rosterRefused(parsed roster.Result) error {
	return &apiError{status: http.StatusUnprocessableEntity, code: CodeInvalid,
		msg:    roster.Report(parsed, "en") + "\nNothing was imported; fix these rows, or send ?skipBadRows=true to import the others.",
		zhMsg:  roster.Report(parsed, "zh") + "\n未导入任何数据；请修正这些行，或加 ?skipBadRows=true 导入其余各行。",
		detail: errorDetail{Rejected: rejectedRows(parsed.Rejected)}}
}

// exportCharts streams every chart as JSON lines.
func (s *Server) exportCharts(w http.ResponseWriter, r *http.Request) error {
	started := false
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := s.opts.Patients.Export(r.Context(), actor(r), func(p chart.Patient) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="patients.jsonl"`)
			started = true
		}
		return enc.Encode(p)
	})
	if err != nil && started {
		s.log.Error("export stream failed", "err", err)
		panic(http.ErrAbortHandler)
	}
	if err == nil && !started {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	}
	return err
}

// readBody reads a patient body, capped at care.MaxBodyBytes (care.Decode
// reports an oversized body in both languages).
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, care.MaxBodyBytes+1))
}

func decodeInput[T care.Input](r *http.Request, into *T) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return care.Decode(body, into)
}

// showPatient answers with a chart and its version as the ETag.
func showPatient(w http.ResponseWriter, status int, p any, version string) {
	w.Header().Set("ETag", strconv.Quote(version))
	writeJSON(w, status, p)
}

func (s *Server) registerPatient(w http.ResponseWriter, r *http.Request) error {
	var in care.PatientInput
	if err := decodeInput(r, &in); err != nil {
		return err
	}
	q, err := query(r)
	if err != nil {
		return err
	}
	force := q.Get("force") == "true"
	res, err := s.opts.Patients.Register(r.Context(), actor(r), in, force)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patients/"+res.ID)
	showPatient(w, http.StatusCreated, res, res.Version)
	return nil
}

func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(q, 100)
	if err != nil {
		return err
	}
	if q.Get("limit") == "" {
		limit = 20
	}
	text := q.Get("q")
	if text == "" {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest,
			msg:   "say what to look for: ?q= a name, pinyin, phone (or its last four digits), ID number or card number",
			zhMsg: "请输入查询内容：姓名、拼音、电话（或后四位）、身份证号或就诊卡号。"}
	}
	found, err := s.opts.Patients.Search(actor(r), text, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"patients": found})
	return nil
}

func (s *Server) getPatient(w http.ResponseWriter, r *http.Request) error {
	p, err := s.opts.Patients.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	showPatient(w, http.StatusOK, p, p.Version)
	return nil
}

func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	p, err := s.opts.Patients.Update(r.Context(), actor(r), r.PathValue("id"), body, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	showPatient(w, http.StatusOK, p, p.Version)
	return nil
}

func (s *Server) addAllergy(w http.ResponseWriter, r *http.Request) error {
	var in care.AllergyInput
	if err := decodeInput(r, &in); err != nil {
		return err
	}
	p, err := s.opts.Patients.AddAllergy(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	showPatient(w, http.StatusCreated, p, p.Version)
	return nil
}

func (s *Server) addDiagnosis(w http.ResponseWriter, r *http.Request) error {
	var in care.DiagnosisInput
	if err := decodeInput(r, &in); err != nil {
		return err
	}
	p, warnings, err := s.opts.Patients.AddDiagnosis(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	s.diagnosed(r.Context(), actor(r), p.ID, in.Code) // follow-up plans (followup.go)
	showPatient(w, http.StatusCreated, struct {
		chart.Patient
		Warnings []care.Problem `json:"warnings,omitempty"`
	}{p, warnings}, p.Version)
	return nil
}

func (s *Server) addMedication(w http.ResponseWriter, r *http.Request) error {
	var in care.MedicationInput
	if err := decodeInput(r, &in); err != nil {
		return err
	}
	p, err := s.opts.Patients.AddMedication(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	showPatient(w, http.StatusCreated, p, p.Version)
	return nil
}

func (s *Server) removeElement(w http.ResponseWriter, r *http.Request) error {
	p, err := s.opts.Patients.RemoveElement(r.Context(), actor(r), r.PathValue("id"), r.PathValue("set"), r.PathValue("elem"))
	if err != nil {
		return err
	}
	showPatient(w, http.StatusOK, p, p.Version)
	return nil
}

type mergeIn struct {
	Into string `json:"into"`
}

func (s *Server) mergePatient(w http.ResponseWriter, r *http.Request) error {
	var in mergeIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Into == "" {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: `say which patient to merge into: {"into": "PATIENT-ID"}`,
			zhMsg: "请指明合并到哪位患者：{\"into\": \"患者编号\"}。"}
	}
	p, err := s.opts.Patients.Merge(r.Context(), actor(r), r.PathValue("id"), in.Into)
	if err != nil {
		return err
	}
	showPatient(w, http.StatusOK, p, p.Version)
	return nil
}

func (s *Server) issueCard(w http.ResponseWriter, r *http.Request) error {
	p, err := s.opts.Patients.IssueCard(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	showPatient(w, http.StatusCreated, p, p.Version)
	return nil
}

func (s *Server) patientConflicts(w http.ResponseWriter, r *http.Request) error {
	p, err := s.opts.Patients.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	c := p.Conflicts
	if c == nil {
		c = []chart.Conflict{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": p.ID, "version": p.Version, "conflicts": c})
	return nil
}

type resolveIn struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

func (s *Server) resolveConflict(w http.ResponseWriter, r *http.Request) error {
	var in resolveIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Field == "" || len(in.Value) == 0 {
		return &apiError{status: http.StatusBadRequest, code: CodeBadRequest, msg: `send {"field": NAME, "value": THE VALUE TO KEEP}`,
			zhMsg: "请提供字段名及要保留的值。"}
	}
	p, err := s.opts.Patients.Resolve(r.Context(), actor(r), r.PathValue("id"), in.Field, in.Value)
	if err != nil {
		return err
	}
	showPatient(w, http.StatusOK, p, p.Version)
	return nil
}

type assignIn struct {
	Nurse string `json:"nurse"`
}

func (s *Server) assign(remove bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		nurse := r.PathValue("nurse")
		if !remove {
			var in assignIn
			if err := s.decode(w, r, &in); err != nil {
				return err
			}
			nurse = in.Nurse
		}
		p, err := s.opts.Patients.Assign(r.Context(), actor(r), r.PathValue("id"), nurse, remove)
		if err != nil {
			return err
		}
		showPatient(w, http.StatusOK, p, p.Version)
		return nil
	}
}

func (s *Server) patientAudit(w http.ResponseWriter, r *http.Request) error {
	events, err := s.opts.Patients.Audit(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if events == nil {
		events = []chart.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}

func (s *Server) duplicates(w http.ResponseWriter, r *http.Request) error {
	d, err := s.opts.Patients.Duplicates(actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"duplicates": d})
	return nil
}

func (s *Server) conflicts(w http.ResponseWriter, r *http.Request) error {
	c, err := s.opts.Patients.Conflicts(actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"patients": c})
	return nil
}

type tagIn struct {
	Tag string `json:"tag"`
}

func (s *Server) addTag(w http.ResponseWriter, r *http.Request) error {
	var in tagIn
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.opts.Patients.AddTag(r.Context(), actor(r), r.PathValue("id"), in.Tag)
	if err != nil {
		return err
	}
	showPatient(w, http.StatusCreated, p, p.Version)
	return nil
}
