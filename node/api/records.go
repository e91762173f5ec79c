package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"carenode/crdt"
	"carenode/node/booking"
	"carenode/node/chart"
	"carenode/node/education"
	"carenode/node/outbox"
	"carenode/node/staff"
	"carenode/node/store"
	"carenode/node/survey"
)

// factIn is one fact in a request.
type factIn struct {
	ID    string          `json:"id"`
	Value json.RawMessage `json:"value"`
}

type createBody struct {
	ID     string                     `json:"id,omitempty"`
	Fields map[string]json.RawMessage `json:"fields"`
	Sets   map[string][]string        `json:"sets,omitempty"`
	Facts  map[string][]factIn        `json:"facts,omitempty"`
}

type patchBody struct {
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Seen names, per field, the stamps the new value replaces. A field
	// not named here replaces whatever the node holds at commit.
	Seen      map[string][]crdt.Stamp `json:"seen,omitempty"`
	Add       map[string][]string     `json:"add,omitempty"`
	Remove    map[string][]string     `json:"remove,omitempty"`
	Facts     map[string][]factIn     `json:"facts,omitempty"`
	Restore   bool                    `json:"restore,omitempty"`
	MergeInto string                  `json:"mergeInto,omitempty"`
}

// recordOut is a record as the API returns it.
type recordOut struct {
	ID         string                     `json:"id"`
	Collection string                     `json:"collection"`
	Asked      string                     `json:"asked,omitempty"`
	Fields     map[string]json.RawMessage `json:"fields"`
	Stamps     map[string]fieldStamps     `json:"stamps"`
	Conflicts  map[string][]conflictValue `json:"conflicts,omitempty"`
	Sets       map[string][]string        `json:"sets,omitempty"`
	Facts      map[string][]factOut       `json:"facts,omitempty"`
	Deleted    bool                       `json:"deleted"`
	Tombstones []crdt.Stamp               `json:"tombstones,omitempty"`
	Merged     []string                   `json:"merged,omitempty"`
	Created    crdt.Stamp                 `json:"created"`
	Updated    crdt.Stamp                 `json:"updated"`
}

type fieldStamps struct {
	Stamp crdt.Stamp   `json:"stamp"`
	Seen  []crdt.Stamp `json:"seen"`
}

type conflictValue struct {
	Stamp crdt.Stamp      `json:"stamp"`
	Value json.RawMessage `json:"value"`
}

type factOut struct {
	ID    string          `json:"id"`
	Stamp crdt.Stamp      `json:"stamp"`
	Value json.RawMessage `json:"value"`
}

// raw returns stored bytes as a JSON value; bytes that are not JSON (written
// by a peer through the change API) come back as a JSON string of base64
// rather than breaking the response.
func raw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	out, _ := json.Marshal(b)
	return out
}

func toOut(v store.RecordView) recordOut {
	out := recordOut{ID: v.ID, Collection: v.Collection, Fields: map[string]json.RawMessage{}, Stamps: map[string]fieldStamps{},
		Sets: v.Sets, Deleted: v.Deleted, Tombstones: v.Tombstones, Merged: v.Merged, Created: v.Created, Updated: v.Updated}
	if v.Asked != v.ID {
		out.Asked = v.Asked
	}
	for name, f := range v.Fields {
		out.Fields[name] = raw(f.Value)
		out.Stamps[name] = fieldStamps{Stamp: f.Stamp, Seen: f.Seen}
		if len(f.Conflict) > 0 {
			if out.Conflicts == nil {
				out.Conflicts = map[string][]conflictValue{}
			}
			for _, e := range f.Conflict {
				out.Conflicts[name] = append(out.Conflicts[name], conflictValue{Stamp: e.Stamp, Value: raw(e.Value)})
			}
		}
	}
	for list, facts := range v.Facts {
		if out.Facts == nil {
			out.Facts = map[string][]factOut{}
		}
		for _, f := range facts {
			out.Facts[list] = append(out.Facts[list], factOut{ID: f.ID, Stamp: f.Stamp, Value: raw(f.Value)})
		}
	}
	return out
}

// fieldEdits turns a field map into set edits, sorted by name so a change's
// bytes do not depend on map order.
func fieldEdits(fields map[string]json.RawMessage, seen map[string][]crdt.Stamp) ([]store.Edit, error) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	edits := make([]store.Edit, 0, len(names))
	for _, name := range names {
		if !crdt.ValidName(name) {
			return nil, badRequest(fmt.Sprintf("field name %q: use 1-64 letters, digits, '_', '-' or '.'", name))
		}
		v, err := compact(fields[name])
		if err != nil {
			return nil, badRequest(fmt.Sprintf("field %q: %v", name, err))
		}
		e := store.Edit{Kind: crdt.MutSet, Field: name, Value: v}
		if s, ok := seen[name]; ok {
			e.Seen = s
		} else {
			e.SeenCurrent = true
		}
		edits = append(edits, e)
	}
	for name := range seen {
		if _, ok := fields[name]; !ok {
			return nil, badRequest(fmt.Sprintf("seen names field %q, which this request does not set", name))
		}
	}
	return edits, nil
}

func setEdits(kind crdt.MutKind, sets map[string][]string) ([]store.Edit, error) {
	var edits []store.Edit
	names := make([]string, 0, len(sets))
	for name := range sets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !crdt.ValidName(name) {
			return nil, badRequest(fmt.Sprintf("set name %q: use 1-64 letters, digits, '_', '-' or '.'", name))
		}
		for _, elem := range sets[name] {
			if elem == "" {
				return nil, badRequest(fmt.Sprintf("set %q: empty element", name))
			}
			edits = append(edits, store.Edit{Kind: kind, Field: name, Elem: elem, SeenCurrent: kind == crdt.MutRemove})
		}
	}
	return edits, nil
}

func factEdits(facts map[string][]factIn) ([]store.Edit, error) {
	var edits []store.Edit
	names := make([]string, 0, len(facts))
	for name := range facts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for i, f := range facts[name] {
			if !crdt.ValidName(f.ID) {
				return nil, badRequest(fmt.Sprintf("facts %q item %d: id %q: use 1-64 letters, digits, '_', '-' or '.'", name, i, f.ID))
			}
			if len(f.Value) == 0 {
				return nil, badRequest(fmt.Sprintf("facts %q item %d: missing value", name, i))
			}
			v, err := compact(f.Value)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("facts %q item %d: %v", name, i, err))
			}
			edits = append(edits, store.Edit{Kind: crdt.MutFact, Field: name, FactID: f.ID, Value: v})
		}
	}
	return edits, nil
}

// buildEdits turns a request's fields, set adds and removes and facts into
// store edits, in that order.
func buildEdits(fields map[string]json.RawMessage, seen map[string][]crdt.Stamp, add, remove map[string][]string, facts map[string][]factIn) ([]store.Edit, error) {
	edits, err := fieldEdits(fields, seen)
	if err != nil {
		return nil, err
	}
	for _, part := range []struct {
		kind crdt.MutKind
		sets map[string][]string
	}{{crdt.MutAdd, add}, {crdt.MutRemove, remove}} {
		more, err := setEdits(part.kind, part.sets)
		if err != nil {
			return nil, err
		}
		edits = append(edits, more...)
	}
	more, err := factEdits(facts)
	if err != nil {
		return nil, err
	}
	edits = append(edits, more...)
	if len(edits) > crdt.MaxMuts {
		return nil, badRequest(fmt.Sprintf("%d edits in one request; at most %d", len(edits), crdt.MaxMuts))
	}
	return edits, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	coll := r.PathValue("collection")
	if err := s.ownedCollection(coll); err != nil {
		return err
	}
	if !crdt.ValidName(coll) {
		return badRequest(fmt.Sprintf("collection name %q: use 1-64 letters, digits, '_', '-' or '.'", coll))
	}
	var body createBody
	if err := s.decode(w, r, &body); err != nil {
		return err
	}
	id := body.ID
	if id == "" {
		id = newID(s.opts.Now())
	} else if !crdt.ValidName(id) {
		return badRequest(fmt.Sprintf("id %q: use 1-64 letters, digits, '_', '-' or '.'", id))
	}
	edits, err := buildEdits(body.Fields, nil, body.Sets, nil, body.Facts)
	if err != nil {
		return err
	}
	return s.writeAndShow(w, r, store.WriteRequest{Collection: coll, Record: id, Create: true, Edits: edits}, http.StatusCreated)
}

// writeAndShow commits req and answers with the record as it now reads
// (the survivor, if req named a merged record). A create also gets its
// Location.
func (s *Server) writeAndShow(w http.ResponseWriter, r *http.Request, req store.WriteRequest, status int) error {
	res, err := s.opts.Records.Write(r.Context(), req)
	if err != nil {
		return err
	}
	v, err := s.opts.Records.Get(req.Collection, res.Record)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/records/"+req.Collection+"/"+res.Record)
	}
	writeJSON(w, status, toOut(v))
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) error {
	coll, id := r.PathValue("collection"), r.PathValue("id")
	if !crdt.ValidName(coll) || !crdt.ValidName(id) {
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: fmt.Sprintf("no record %s/%s", coll, id)}
	}
	v, err := s.opts.Records.Get(coll, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOut(v))
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) error {
	coll := r.PathValue("collection")
	if !crdt.ValidName(coll) {
		return badRequest(fmt.Sprintf("collection name %q: use 1-64 letters, digits, '_', '-' or '.'", coll))
	}
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(q, s.opts.MaxPage)
	if err != nil {
		return err
	}
	views, err := s.opts.Records.List(coll, q.Get("after"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Records []recordOut `json:"records"`
		Next    string      `json:"next,omitempty"`
	}{Records: make([]recordOut, 0, len(views))}
	for _, v := range views {
		out.Records = append(out.Records, toOut(v))
	}
	if len(views) == limit {
		out.Next = views[len(views)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// noSuchRecord answers for ids that cannot exist, the same way GET does.
func noSuchRecord(coll, id string) error {
	if !crdt.ValidName(coll) || !crdt.ValidName(id) {
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: fmt.Sprintf("no record %s/%s", coll, id)}
	}
	return nil
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) error {
	coll, id := r.PathValue("collection"), r.PathValue("id")
	if err := noSuchRecord(coll, id); err != nil {
		return err
	}
	if err := s.ownedCollection(coll); err != nil {
		return err
	}
	var body patchBody
	if err := s.decode(w, r, &body); err != nil {
		return err
	}
	edits, err := buildEdits(body.Fields, body.Seen, body.Add, body.Remove, body.Facts)
	if err != nil {
		return err
	}
	if body.Restore {
		edits = append(edits, store.Edit{Kind: crdt.MutRestore, SeenCurrent: true})
	}
	if body.MergeInto != "" {
		edits = append(edits, store.Edit{Kind: crdt.MutMerge, Into: body.MergeInto})
	}
	if len(edits) == 0 {
		return badRequest("nothing to change: send fields, add, remove, facts, restore or mergeInto")
	}
	if len(edits) > crdt.MaxMuts {
		return badRequest(fmt.Sprintf("%d edits in one request; at most %d", len(edits), crdt.MaxMuts))
	}
	return s.writeAndShow(w, r, store.WriteRequest{Collection: coll, Record: id, MustExist: true, Edits: edits}, http.StatusOK)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) error {
	coll, id := r.PathValue("collection"), r.PathValue("id")
	if err := noSuchRecord(coll, id); err != nil {
		return err
	}
	if err := s.ownedCollection(coll); err != nil {
		return err
	}
	return s.writeAndShow(w, r, store.WriteRequest{Collection: coll, Record: id, MustExist: true,
		Edits: []store.Edit{{Kind: crdt.MutDelete}}}, http.StatusOK)
}

type changesOut struct {
	Changes []crdt.Change `json:"changes"`
	Next    string        `json:"next"`
	More    bool          `json:"more"`
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	after, err := crdt.ParseVector(q.Get("after"))
	if err != nil {
		return badRequest(fmt.Sprintf("after: %v", err))
	}
	limit, err := pageLimit(q, s.opts.MaxPage)
	if err != nil {
		return err
	}
	page, err := s.opts.Records.ChangesAfter(after, limit)
	if err != nil {
		return err
	}
	out := changesOut{Changes: page.Changes, Next: page.Next.String(), More: page.More}
	if out.Changes == nil {
		out.Changes = []crdt.Change{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type applyIn struct {
	Changes []crdt.Change `json:"changes"`
}

type applyOut struct {
	Applied    int              `json:"applied"`
	Duplicates int              `json:"duplicates"`
	Vector     string           `json:"vector"`
	Skew       []crdt.SkewEvent `json:"skew,omitempty"`
}

func (s *Server) applyChanges(w http.ResponseWriter, r *http.Request) error {
	var body applyIn
	if err := s.decode(w, r, &body); err != nil {
		return err
	}
	res, err := s.opts.Records.ApplyRemote(body.Changes)
	if err != nil {
		return err
	}
	s.refreshPatients(body.Changes)
	writeJSON(w, http.StatusOK, applyOut{Applied: res.Applied, Duplicates: res.Duplicates, Vector: res.Vector.String(), Skew: res.Skew})
	return nil
}

// refreshPatients brings the patient indexes up to date with changes that
// came from a peer.
func (s *Server) refreshPatients(changes []crdt.Change) {
	if s.opts.Patients == nil {
		return
	}
	seen := map[string]bool{}
	var ids []string
	for _, c := range changes {
		if c.Collection == chart.Collection && !seen[c.Record] {
			seen[c.Record] = true
			ids = append(ids, c.Record)
		}
	}
	if err := s.opts.Patients.Refresh(ids); err != nil {
		s.log.Error("patient index refresh failed; search may be stale until the next unlock", "err", err)
	}
}

// ownedCollection refuses generic writes to the collections a domain
// service owns: a raw value in a patient record would not be sealed, and a
// raw account could lock everyone out. Those are written through their own
// routes.
func (s *Server) ownedCollection(coll string) error {
	owned := map[string]string{}
	if s.opts.Patients != nil {
		owned[chart.Collection], owned[chart.AuditCollection] = "/api/v1/patients", "/api/v1/patients"
	}
	if s.opts.Staff != nil {
		owned[staff.Collection] = "/api/v1/staff"
	}
	if s.opts.Outbox != nil {
		owned[outbox.Collection] = "/api/v1/outbox"
	}
	if s.opts.Booking != nil {
		for _, c := range booking.Collections() {
			owned[c] = "/api/v1/appointments, /api/v1/schedules and /api/v1/departments"
		}
	}
	if s.opts.Feedback != nil {
		for _, c := range []string{survey.Collection, survey.CaseCollection, education.ArticleCollection, education.DeliveryCollection} {
			owned[c] = "/api/v1/surveys, /api/v1/cases and /api/v1/education"
		}
	}
	if route, ok := owned[coll]; ok {
		return &apiError{status: http.StatusForbidden, code: CodeForbidden,
			msg:   fmt.Sprintf("%s records are written through %s, not the generic record API", coll, route),
			zhMsg: "该类数据须通过专用接口写入，不能用通用记录接口。"}
	}
	return nil
}
