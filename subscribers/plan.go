package subscribers

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// The rules of Subscribe, SetStatus and Import: given what is stored,
// decide what to write. The store runs each plan in one transaction.

// ForgottenStatus is the to_status of the last event of a forgotten
// subscriber. It is not a Status a subscriber can have.
const ForgottenStatus Status = "forgotten"

// Change is one event to append to a subscriber's history.
type Change struct {
	From, To Status
	Reason   string
}

// ApplyStatus moves s to status to at now, setting ConfirmedAt and
// UnsubscribedAt as SetStatus documents.
func ApplyStatus(s *Subscriber, to Status, now time.Time) {
	s.Status = to
	switch to {
	case Active:
		if s.ConfirmedAt.IsZero() {
			s.ConfirmedAt = now
		}
		s.UnsubscribedAt = time.Time{}
	case Pending:
		s.UnsubscribedAt = time.Time{}
	case Unsubscribed:
		s.UnsubscribedAt = now
	}
	s.UpdatedAt = now
}

// PlanSubscribe applies a checked sign-up to old (nil for a new address) and
// returns the subscriber to write (nothing when Unchanged or StillPending),
// the outcome and the event to append (nil for none). For an active or
// pending subscriber it changes nothing the person chose: whoever knows an
// address can submit the form, and only the person's own links may change
// their details. Active (the operator holds consent) still confirms a
// pending subscriber.
func PlanSubscribe(old *Subscriber, req SubscribeRequest, now time.Time) (*Subscriber, Outcome, *Change) {
	to := Pending
	if req.Active {
		to = Active
	}
	reason := "subscribe via " + string(req.Source)
	if old == nil {
		s := &Subscriber{
			Email: req.Email, Name: req.Name,
			Digests: req.Digests, Tags: req.Tags, Timezone: req.Timezone,
			Source: req.Source, ConsentAt: req.ConsentAt, ConsentIP: req.ConsentIP, ConsentText: req.ConsentText,
			CreatedAt: now,
		}
		ApplyStatus(s, to, now)
		return s, Created, &Change{From: "", To: to, Reason: reason}
	}
	s := *old
	switch {
	case old.Status == Active:
		return &s, Unchanged, nil
	case old.Status == Pending && to == Pending:
		return &s, StillPending, nil
	case old.Status.Suppressed():
		// They left (or bounced) and someone asks again: a fresh start,
		// which has to be confirmed at the stored address unless Active.
		s.Digests, s.Tags, s.Timezone = req.Digests, req.Tags, req.Timezone
		if req.Name != "" {
			s.Name = req.Name
		}
	}
	s.ConsentAt, s.ConsentIP, s.ConsentText = req.ConsentAt, req.ConsentIP, req.ConsentText
	ApplyStatus(&s, to, now)
	return &s, Refreshed, &Change{From: old.Status, To: to, Reason: reason}
}

// ImportPlan is what one import batch writes.
type ImportPlan struct {
	Inserts []*Subscriber // new subscribers, status set
	Updates []ImportUpdate
	Counts  ImportCounts
}

// ImportUpdate is one changed subscriber.
type ImportUpdate struct {
	New            *Subscriber
	StatusFrom     Status // "" when the status did not change
	DigestsChanged bool
}

// clean checks and cleans the field of r that column col of an import
// file holds (see CSVColumns).
func (r *ImportRow) clean(col string, zones zoneCache) (err error) {
	switch col {
	case "email":
		r.Email, err = NormalizeEmail(r.Email)
	case "name":
		r.Name, err = CleanName(r.Name)
	case "digests":
		if r.Digests != nil {
			r.Digests, err = CleanDigests(r.Digests)
		}
	case "tags":
		if r.Tags != nil {
			r.Tags, err = CleanTags(r.Tags)
		}
	case "timezone":
		err = zones.check(r.Timezone)
	case "status":
		if r.Status != "" && !r.Status.Valid() {
			err = fmt.Errorf("unknown status %q (want pending, active, unsubscribed, bounced or complained)", r.Status)
		}
	}
	return err
}

// PlanImport decides an import batch of checked rows; keys[i] is row i's
// key ("" for a rejected row), existing maps keys to what is stored and
// forgotten holds the keys of forgotten addresses.
//
// An empty cell or a nil list keeps what is stored; a new subscriber gets
// cmp.Or(Status, NewStatus, Active). Only the person can undo their
// choice: a suppressed subscriber keeps its status (a row asking for
// another counts as suppressed, its other fields still updated) and a
// forgotten address is never re-created (suppressed). A second row for a
// key is rejected.
func PlanImport(rows []ImportRow, keys []string, existing map[string]*Subscriber, forgotten map[string]bool, now time.Time) ImportPlan {
	var p ImportPlan
	seen := make(map[string]bool, len(rows))
	for i := range rows {
		r, key := &rows[i], keys[i]
		if key == "" || seen[key] {
			p.Counts.Rejected++
			continue
		}
		seen[key] = true
		old := existing[key]
		if old == nil {
			if forgotten[key] {
				p.Counts.Suppressed++
				continue
			}
			s := &Subscriber{
				Email: r.Email, Name: r.Name, Digests: r.Digests, Tags: r.Tags, Timezone: r.Timezone,
				Source: SourceImport, CreatedAt: now,
			}
			to := cmp.Or(r.Status, r.NewStatus, Active)
			ApplyStatus(s, to, now)
			p.Inserts = append(p.Inserts, s)
			p.Counts.Added++
			continue
		}
		s := *old
		s.Name, s.Timezone = cmp.Or(r.Name, s.Name), cmp.Or(r.Timezone, s.Timezone)
		digestsChanged := r.Digests != nil && JoinList(r.Digests) != JoinList(old.Digests)
		tagsChanged := r.Tags != nil && JoinList(r.Tags) != JoinList(old.Tags)
		if digestsChanged {
			s.Digests = r.Digests
		}
		if tagsChanged {
			s.Tags = r.Tags
		}
		changed := digestsChanged || tagsChanged || s.Name != old.Name || s.Timezone != old.Timezone
		var from Status
		refused := false
		if r.Status != "" && r.Status != old.Status {
			if old.Status.Suppressed() {
				refused = true
			} else {
				from = old.Status
				ApplyStatus(&s, r.Status, now)
				changed = true
			}
		}
		if changed {
			s.UpdatedAt = now
			p.Updates = append(p.Updates, ImportUpdate{New: &s, StatusFrom: from, DigestsChanged: digestsChanged})
		}
		switch {
		case refused:
			p.Counts.Suppressed++
		case changed:
			p.Counts.Updated++
		default:
			p.Counts.Unchanged++
		}
	}
	return p
}

// PrepareNew checks and cleans a subscriber about to be created at now
// (an empty status is Pending) and sets its times as Create documents.
func PrepareNew(s *Subscriber, now time.Time) error {
	if err := checkPerson(&s.Email, &s.Name, s.ConsentIP, s.Source); err != nil {
		return err
	}
	s.Status = cmp.Or(s.Status, Pending)
	if !s.Status.Valid() {
		return fmt.Errorf("subscribers: unknown status %q", s.Status)
	}
	p := Preferences{Digests: s.Digests, Tags: s.Tags, Timezone: s.Timezone, Depths: s.Depths}
	if err := CheckPreferences(&p); err != nil {
		return err
	}
	s.Digests, s.Tags, s.Depths = p.Digests, p.Tags, p.Depths
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.UpdatedAt = now
	if s.Status == Active && s.ConfirmedAt.IsZero() {
		s.ConfirmedAt = now
	}
	if s.Status == Unsubscribed && s.UnsubscribedAt.IsZero() {
		s.UnsubscribedAt = now
	}
	return nil
}

// CheckImportRows validates and cleans every row in place and returns
// their keys (the lower-cased address), "" for a row to reject, as
// PlanImport takes them.
func CheckImportRows(rows []ImportRow) []string {
	keys := make([]string, len(rows))
	zones := zoneCache{}
rows:
	for i := range rows {
		for _, col := range CSVColumns {
			if rows[i].clean(col, zones) != nil {
				continue rows
			}
		}
		keys[i] = strings.ToLower(rows[i].Email)
	}
	return keys
}
