package plans

import (
	"context"
	"slices"

	"carenode/crdt"
	"carenode/node/chart"
	"carenode/node/followup"
	"carenode/node/store"
)

// TemplateInfo is a template as the API lists it.
type TemplateInfo struct {
	ID       string            `json:"id"`
	Name     followup.Text     `json:"name"`
	Shipped  bool              `json:"shipped"`  // one ships with the node
	Replaced bool              `json:"replaced"` // an admin's version is in force
	Template followup.Template `json:"template"`
}

// templateList returns the templates in force: the shipped ones, each
// replaced by an admin's of the same id, and the admin's own, by id.
func (s *Service) templateList() []followup.Template {
	var out []followup.Template
	for _, i := range s.Templates() {
		out = append(out, i.Template)
	}
	return out
}

// Templates lists the templates in force, by id.
func (s *Service) Templates() []TemplateInfo {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	byID := map[string]TemplateInfo{}
	for _, t := range s.cfg.Templates {
		byID[t.ID] = TemplateInfo{ID: t.ID, Name: t.Name, Shipped: true, Template: t}
	}
	for id, t := range s.idx.templates {
		i := byID[id]
		byID[id] = TemplateInfo{ID: id, Name: t.Name, Shipped: i.Shipped, Replaced: i.Shipped, Template: t}
	}
	out := make([]TemplateInfo, 0, len(byID))
	for _, i := range byID {
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b TemplateInfo) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

func (s *Service) templateByID(id string) (followup.Template, bool) {
	for _, i := range s.Templates() {
		if i.ID == id {
			return i.Template, true
		}
	}
	return followup.Template{}, false
}

// PutTemplate adds or replaces template id with body, a template in JSON,
// checked by followup.LoadTemplate (every problem reported at once, as
// *followup.Error). It is stored as a record, so it syncs; running plans
// keep the copy they started with. Two admins replacing one template on
// two nodes while apart: the later write is in force on both.
func (s *Service) PutTemplate(ctx context.Context, a chart.Actor, id string, body []byte) (TemplateInfo, error) {
	t, err := followup.LoadTemplate(body)
	if err != nil {
		return TemplateInfo{}, err
	}
	if t.ID != id {
		return TemplateInfo{}, &Error{Kind: ErrInvalid, Code: "id_mismatch",
			En: "The template's id must match the id in the address.", Zh: "模板的id须与地址中的id一致。",
			Problems: []Problem{{Field: "id", Code: "id_mismatch", En: "The template's id must match the id in the address.", Zh: "模板的id须与地址中的id一致。"}}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := store.WriteRequest{Collection: TemplatesCollection, Record: id, Edits: []store.Edit{
		{Kind: crdt.MutSet, Field: fJSON, Value: jsonValue(t), SeenCurrent: true}, s.history(a, "put", "", "")}}
	if err := s.writeAll(ctx, []store.WriteRequest{req}); err != nil {
		return TemplateInfo{}, err
	}
	s.log.Info("follow-up template stored", "template", id, "by", a.Name)
	for _, i := range s.Templates() {
		if i.ID == id {
			return i, nil
		}
	}
	return TemplateInfo{ID: id, Name: t.Name, Template: t}, nil
}
