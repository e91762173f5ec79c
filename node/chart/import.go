package chart

import (
	"context"
	"fmt"

	"carenode/node/care"
	"carenode/node/roster"
	"carenode/node/store"
)

// ImportResult says what Import did.
type ImportResult struct {
	Imported int `json:"imported"`
	// Rejected are rows refused here (their ID number or card number is
	// already registered, or appears twice in the file), with reasons.
	Rejected []roster.Rejected `json:"rejected,omitempty"`
	IDs      []string          `json:"ids,omitempty"`
}

// ImportError is an import refused as a whole: some rows cannot be
// imported and the caller did not ask to skip them. Nothing was written.
type ImportError struct {
	Rejected []roster.Rejected
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d rows cannot be imported; nothing was imported", len(e.Rejected))
}

func rowProblem(line int, field, code, en, zh string) roster.Rejected {
	return roster.Rejected{Line: line, Problems: []care.Problem{{Field: field, Code: code, En: en, Zh: zh}}}
}

// Import registers a clinic's roster (rows parsed and validated by
// roster.Parse). Rows whose ID number or card number is already registered,
// or repeated within the file, are rejected; with skipBad false a single
// rejected row refuses the whole file (*ImportError) and nothing is written.
// Otherwise every row is written in one store transaction (store.WriteAll),
// so a crash or power cut leaves the roster either wholly imported or not at
// all. progress, when not nil, is called with rows written so far.
func (s *Service) Import(ctx context.Context, a Actor, rows []roster.Row, skipBad bool, progress func(done, total int)) (ImportResult, error) {
	sealer, err := s.session()
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	var keep []roster.Row
	seenID, seenCard := map[string]int{}, map[string]int{}
	s.mu.RLock()
	heldID, heldCard := map[string]bool{}, map[string]bool{}
	for _, e := range s.entries {
		if e.idNumber != "" {
			heldID[e.idNumber] = true
		}
		if e.CardNumber != "" {
			heldCard[e.CardNumber] = true
		}
	}
	s.mu.RUnlock()
	for _, r := range rows {
		p := r.Patient
		switch {
		case p.IDNumber != "" && heldID[p.IDNumber]:
			res.Rejected = append(res.Rejected, rowProblem(r.Line, "idNumber", "already_registered",
				"A patient with this ID number is already registered on this node.", "该身份证号已在本机登记。"))
		case p.IDNumber != "" && seenID[p.IDNumber] > 0:
			res.Rejected = append(res.Rejected, rowProblem(r.Line, "idNumber", "duplicate_in_file",
				fmt.Sprintf("The same ID number is on line %d of this file.", seenID[p.IDNumber]),
				fmt.Sprintf("本文件第%d行已有相同的身份证号。", seenID[p.IDNumber])))
		case p.CardNumber != "" && (heldCard[p.CardNumber] || seenCard[p.CardNumber] > 0):
			res.Rejected = append(res.Rejected, rowProblem(r.Line, "cardNumber", "card_taken",
				"This card number already belongs to another patient.", "该就诊卡号已属于另一位患者。"))
		default:
			if p.IDNumber != "" {
				seenID[p.IDNumber] = r.Line
			}
			if p.CardNumber != "" {
				seenCard[p.CardNumber] = r.Line
			}
			keep = append(keep, r)
		}
	}
	if len(res.Rejected) > 0 && !skipBad {
		return ImportResult{}, &ImportError{Rejected: res.Rejected}
	}
	reqs := make([]store.WriteRequest, 0, len(keep))
	for _, r := range keep {
		id := store.NewRecordID(s.cfg.Now())
		edits, err := newChartEdits(sealer, id, r.Patient)
		if err != nil {
			return ImportResult{}, err
		}
		reqs = append(reqs, store.WriteRequest{Collection: Collection, Record: id, Create: true, Edits: edits})
		res.IDs = append(res.IDs, id)
		if progress != nil && len(reqs)%500 == 0 {
			progress(len(reqs)/2, len(keep))
		}
	}
	// The audit events go in the same transaction: an imported chart
	// without its "import" event cannot exist.
	for _, id := range res.IDs {
		req, err := s.auditRequest(a, id, "import", nil)
		if err != nil {
			return ImportResult{}, err
		}
		reqs = append(reqs, req)
	}
	if _, err := s.cfg.Records.WriteAll(ctx, reqs); err != nil {
		return ImportResult{}, fmt.Errorf("import %d patients: %w", len(res.IDs), err)
	}
	for _, id := range res.IDs {
		if err := s.reindex(sealer, id); err != nil {
			return ImportResult{}, err
		}
	}
	if progress != nil {
		progress(len(keep), len(keep))
	}
	res.Imported = len(res.IDs)
	return res, nil
}

// Export calls fn with every chart the actor may see, in id order, and
// records an "export" audit event for each (in one transaction per page of
// charts, before fn sees them). It stops at fn's first error.
func (s *Service) Export(ctx context.Context, a Actor, fn func(Patient) error) error {
	sealer, err := s.session()
	if err != nil {
		return err
	}
	const page = 500
	after := ""
	today := s.today()
	for {
		views, err := s.cfg.Records.List(Collection, after, page)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		var charts []Patient
		var audits []store.WriteRequest
		for _, v := range views {
			after = v.Asked
			if v.Deleted || !s.mayAccess(a, v.Sets[setAssignees]) {
				continue
			}
			p, err := s.toPatient(sealer, v, today)
			if err != nil {
				return err
			}
			req, err := s.auditRequest(a, v.ID, "export", nil)
			if err != nil {
				return err
			}
			charts, audits = append(charts, p), append(audits, req)
		}
		if len(audits) > 0 {
			if _, err := s.cfg.Records.WriteAll(ctx, audits); err != nil {
				return fmt.Errorf("record export audit: %w", err)
			}
		}
		for _, p := range charts {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(views) < page {
			return nil
		}
	}
}
