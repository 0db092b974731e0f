package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/tokenward/bff/session"
)

// InstrumentStore returns s decorated so that every call is timed in
// bff_store_operation_duration_seconds{op} and its failures counted in
// bff_store_errors_total{op}. The operations:
//
//	Get → get, Peek → peek, Touch/TouchMany → touch, Save/Update → save,
//	Delete/DeleteBySID/DeleteBySubject/DeleteBySIDAndSubject/DeleteByIDHashes → delete,
//	ListBySubject → list,
//	Once → once, PutLogin → login_put, TakeLogin → login_take, Lock → lock,
//	WaitUnlock → wait_unlock, Lock.Renew → renew, Lock.Release → release,
//	PublishEnded/PublishRefreshed → publish, Ping → ping.
//
// Watch and Close pass through untimed. A failure is any error except the ones
// that are answers rather than faults: session.ErrNotFound, session.ErrLockHeld,
// session.ErrLoginNotBound, and the
// caller's own context.Canceled (a client that went away). session.ErrLockLost and
// session.ErrUnavailable (timeouts included) count.
//
// With a nil m, InstrumentStore returns s itself. The decorator adds no state: it is as
// safe for concurrent use as s, and errors pass through unchanged (errors.Is still works).
func InstrumentStore(s session.Store, m *Metrics) session.Store {
	if m == nil || s == nil {
		return s
	}
	return &instrumentedStore{next: s, m: m}
}

type instrumentedStore struct {
	next session.Store
	m    *Metrics
}

var (
	_ session.Store = (*instrumentedStore)(nil)
	_ session.Lock  = (*instrumentedLock)(nil)
)

// observe records one call of op that started at start and returned err.
func (m *Metrics) observeStore(op string, start time.Time, err error) {
	m.ObserveStore(op, time.Since(start), isStoreFailure(err))
}

func isStoreFailure(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, session.ErrNotFound),
		errors.Is(err, session.ErrLockHeld),
		errors.Is(err, session.ErrLoginNotBound),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}

func (s *instrumentedStore) Get(ctx context.Context, id string) (*session.Record, error) {
	start := time.Now()
	rec, err := s.next.Get(ctx, id)
	s.m.observeStore(OpGet, start, err)
	return rec, err
}

func (s *instrumentedStore) Touch(ctx context.Context, idHash string) (bool, error) {
	start := time.Now()
	ok, err := s.next.Touch(ctx, idHash)
	s.m.observeStore(OpTouch, start, err)
	return ok, err
}

func (s *instrumentedStore) TouchMany(ctx context.Context, idHashes []string) ([]bool, error) {
	start := time.Now()
	live, err := s.next.TouchMany(ctx, idHashes)
	s.m.observeStore(OpTouch, start, err)
	return live, err
}

func (s *instrumentedStore) Peek(ctx context.Context, idHash string) (*session.Record, time.Time, error) {
	start := time.Now()
	rec, ends, err := s.next.Peek(ctx, idHash)
	s.m.observeStore(OpPeek, start, err)
	return rec, ends, err
}

func (s *instrumentedStore) Save(ctx context.Context, id string, rec *session.Record) error {
	start := time.Now()
	err := s.next.Save(ctx, id, rec)
	s.m.observeStore(OpSave, start, err)
	return err
}

// Update implements session.Store; it counts as a save.
func (s *instrumentedStore) Update(ctx context.Context, id string, rec *session.Record) error {
	start := time.Now()
	err := s.next.Update(ctx, id, rec)
	s.m.observeStore(OpSave, start, err)
	return err
}

func (s *instrumentedStore) Delete(ctx context.Context, id string) error {
	start := time.Now()
	err := s.next.Delete(ctx, id)
	s.m.observeStore(OpDelete, start, err)
	return err
}

func (s *instrumentedStore) DeleteBySID(ctx context.Context, sid string) ([]string, error) {
	start := time.Now()
	hashes, err := s.next.DeleteBySID(ctx, sid)
	s.m.observeStore(OpDelete, start, err)
	return hashes, err
}

func (s *instrumentedStore) DeleteBySubject(ctx context.Context, sub string) ([]string, error) {
	start := time.Now()
	hashes, err := s.next.DeleteBySubject(ctx, sub)
	s.m.observeStore(OpDelete, start, err)
	return hashes, err
}

func (s *instrumentedStore) DeleteBySIDAndSubject(ctx context.Context, sid, sub string) ([]string, error) {
	start := time.Now()
	hashes, err := s.next.DeleteBySIDAndSubject(ctx, sid, sub)
	s.m.observeStore(OpDelete, start, err)
	return hashes, err
}

// ListBySubject implements session.Store: the list op.
func (s *instrumentedStore) ListBySubject(ctx context.Context, subjectKey string) (session.Listing, error) {
	start := time.Now()
	l, err := s.next.ListBySubject(ctx, subjectKey)
	s.m.observeStore(OpList, start, err)
	return l, err
}

// DeleteByIDHashes implements session.Store: a delete.
func (s *instrumentedStore) DeleteByIDHashes(ctx context.Context, idHashes []string) ([]string, error) {
	start := time.Now()
	hashes, err := s.next.DeleteByIDHashes(ctx, idHashes)
	s.m.observeStore(OpDelete, start, err)
	return hashes, err
}

func (s *instrumentedStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	start := time.Now()
	isNew, err := s.next.Once(ctx, key, ttl)
	s.m.observeStore(OpOnce, start, err)
	return isNew, err
}

func (s *instrumentedStore) PutLogin(ctx context.Context, key, binding string, value []byte, ttl time.Duration) error {
	start := time.Now()
	err := s.next.PutLogin(ctx, key, binding, value, ttl)
	s.m.observeStore(OpLoginPut, start, err)
	return err
}

func (s *instrumentedStore) TakeLogin(ctx context.Context, key string, bindings []string) ([]byte, error) {
	start := time.Now()
	v, err := s.next.TakeLogin(ctx, key, bindings)
	s.m.observeStore(OpLoginTake, start, err)
	return v, err
}

func (s *instrumentedStore) Lock(ctx context.Context, id string, lease time.Duration) (session.Lock, error) {
	start := time.Now()
	l, err := s.next.Lock(ctx, id, lease)
	s.m.observeStore(OpLock, start, err)
	if err != nil {
		return l, err
	}
	return &instrumentedLock{next: l, m: s.m}, nil
}

func (s *instrumentedStore) WaitUnlock(ctx context.Context, id string) error {
	start := time.Now()
	err := s.next.WaitUnlock(ctx, id)
	s.m.observeStore(OpWaitUnlock, start, err)
	return err
}

func (s *instrumentedStore) PublishEnded(ctx context.Context, idHashes []string) error {
	start := time.Now()
	err := s.next.PublishEnded(ctx, idHashes)
	s.m.observeStore(OpPublish, start, err)
	return err
}

func (s *instrumentedStore) PublishRefreshed(ctx context.Context, idHashes []string) error {
	start := time.Now()
	err := s.next.PublishRefreshed(ctx, idHashes)
	s.m.observeStore(OpPublish, start, err)
	return err
}

func (s *instrumentedStore) Watch(ctx context.Context, fn func(session.Event)) {
	s.next.Watch(ctx, fn)
}

func (s *instrumentedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.next.Ping(ctx)
	s.m.observeStore(OpPing, start, err)
	return err
}

func (s *instrumentedStore) Close() error { return s.next.Close() }

// instrumentedLock times Renew and Release of a lock obtained through the decorator.
type instrumentedLock struct {
	next session.Lock
	m    *Metrics
}

func (l *instrumentedLock) Renew(ctx context.Context, lease time.Duration) error {
	start := time.Now()
	err := l.next.Renew(ctx, lease)
	l.m.observeStore(OpRenew, start, err)
	return err
}

func (l *instrumentedLock) Release(ctx context.Context) error {
	start := time.Now()
	err := l.next.Release(ctx)
	l.m.observeStore(OpRelease, start, err)
	return err
}
