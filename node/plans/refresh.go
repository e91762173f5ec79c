package plans

import (
	"context"
	"errors"
	"fmt"

	"carenode/node/store"
)

// apply re-reads the changed records and updates the index: template
// copies and templates first, then plans, tasks and alerts, so a task
// arriving with its plan is evaluated against it.
//
// Applies run one at a time, each reading the store after taking
// applyMu: otherwise a follower that read a record before a local write
// could put its older copy into the index after the local write's newer
// one.
func (s *Service) apply(changed []store.Changed) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	order := map[string]int{VersionsCollection: 0, TemplatesCollection: 1, PlansCollection: 2, TasksCollection: 3, AlertsCollection: 4}
	views := make([][]store.RecordView, 5)
	var missing [5][]string
	var errs []error
	for _, c := range changed {
		k, ok := order[c.Collection]
		if !ok {
			continue
		}
		v, err := s.cfg.Records.Get(c.Collection, c.Record)
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing[k] = append(missing[k], c.Record)
		case err != nil:
			errs = append(errs, fmt.Errorf("re-read %s/%s: %w", c.Collection, c.Record, err))
		case v.Deleted || v.ID != c.Record:
			missing[k] = append(missing[k], c.Record)
		default:
			views[k] = append(views[k], v)
		}
	}
	x := s.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, v := range views[0] {
		x.versions[v.ID] = loadCopy(v.View)
		delete(x.fresh, v.ID)
		for id, p := range x.plans {
			if p.version == v.ID {
				x.putPlan(x.plans[id])
			}
		}
	}
	for _, v := range views[1] {
		if t := loadCopy(v.View); t != nil {
			x.templates[v.ID] = *t
		}
	}
	for _, v := range views[2] {
		x.putPlan(planFromView(v.ID, v.View))
	}
	for _, v := range views[3] {
		x.putTask(taskFromView(v.ID, v.View))
	}
	for _, v := range views[4] {
		x.putAlert(alertFromView(v.ID, v.View))
	}
	// Deleted (tombstoned, through the generic record API) or merged
	// away: gone from the lists too.
	for _, id := range missing[2] {
		if p := x.plans[id]; p != nil {
			delete(x.plans, id)
			delete(x.patients[p.patient], id)
			for _, t := range x.planTasks[id] {
				x.evaluate(t)
			}
		}
	}
	for _, id := range missing[3] {
		if t := x.tasks[id]; t != nil {
			x.unlist(t)
			delete(x.tasks, id)
			delete(x.planTasks[t.plan], id)
		}
	}
	for _, id := range missing[4] {
		if a := x.alerts[id]; a != nil {
			if !a.acked {
				x.unacked--
			}
			delete(x.alerts, id)
		}
	}
	return errors.Join(errs...)
}

// refreshRemote is the follower's refresh: apply what a peer changed, and
// tell the supervisor about any task that the peer's attempts, joined
// with ours, leave lost to follow-up with nobody told yet (each node
// alone may have seen too few failures to get there).
func (s *Service) refreshRemote(changed []store.Changed) error {
	if err := s.apply(changed); err != nil {
		return err
	}
	var lost []string
	s.idx.mu.RLock()
	for _, c := range changed {
		if c.Collection != TasksCollection {
			continue
		}
		t := s.idx.tasks[c.Record]
		if t != nil && t.status == StatusLost && s.idx.alerts[lostAlertID(t.id)] == nil {
			lost = append(lost, t.id)
		}
	}
	s.idx.mu.RUnlock()
	for _, id := range lost {
		if err := s.raiseLost(context.Background(), id); err != nil {
			return err
		}
	}
	return nil
}

// raiseLost writes the lost-to-follow-up alert of task id unless it exists.
func (s *Service) raiseLost(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.mu.RLock()
	t := s.idx.tasks[id]
	var req store.WriteRequest
	ok := t != nil && t.status == StatusLost && s.idx.alerts[lostAlertID(id)] == nil
	if ok {
		req = s.lostAlert(t, s.idx.plans[t.plan])
	}
	s.idx.mu.RUnlock()
	if !ok {
		return nil
	}
	err := s.writeAll(ctx, []store.WriteRequest{req})
	if errors.Is(err, store.ErrExists) {
		return nil // raised meanwhile by a peer; the same alert
	}
	return err
}

// lostAlertID is deterministic, so nodes that each find a task lost
// raise one alert between them.
// Plan ids are at most maxPlanID long, so the id fits a record id.
func lostAlertID(task string) string { return task + ".lost" }
