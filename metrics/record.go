package metrics

import "time"

// ObserveHTTP records one served request: route is a route NAME (see the Route*
// constants and WithRoutes), never a raw path; unknown names count as "other", methods
// outside the standard nine as "OTHER". Its signature is handler.Observer's. A negative
// d counts the request without observing a duration (streams).
func (m *Metrics) ObserveHTTP(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	route, method = m.routes.value(route), methodLabel(method)
	m.httpRequests.WithLabelValues(route, method, codeLabel(code)).Inc()
	if d >= 0 { // a negative d: a stream (SSE, websocket), whose life is not a latency
		m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
	}
}

// ObserveUpstream records the time from sending a request to route's upstream until its
// response headers arrived.
func (m *Metrics) ObserveUpstream(route string, d time.Duration) {
	if m == nil {
		return
	}
	m.upstream.WithLabelValues(m.routes.value(route)).Observe(d.Seconds())
}

// Login counts a login outcome (one of Labels.Login; anything else counts as "other").
func (m *Metrics) Login(outcome string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(m.loginSet.value(outcome)).Inc()
}

// Refresh counts a refresh outcome (one of Labels.Refresh). It fits refresh.Config.Observe.
func (m *Metrics) Refresh(outcome string) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(m.refreshSet.value(outcome)).Inc()
}

// SessionCreated counts a session created by a successful login.
func (m *Metrics) SessionCreated() {
	if m == nil {
		return
	}
	m.created.Inc()
}

// SessionEnded counts n sessions ended for reason (Ended* constants). A back-channel
// logout or "log out everywhere" may end several sessions at once; n <= 0 counts nothing.
func (m *Metrics) SessionEnded(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.ended.WithLabelValues(m.endSet.value(reason)).Add(float64(n))
}

// BackchannelLogout counts a back-channel logout request's outcome (one of
// Labels.Backchannel).
func (m *Metrics) BackchannelLogout(outcome string) {
	if m == nil {
		return
	}
	m.backchannel.WithLabelValues(m.backchannelSet.value(outcome)).Inc()
}

// SessionRejected counts a request whose session cookie or stored record was refused
// (one of Labels.Rejected).
func (m *Metrics) SessionRejected(reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(m.rejectSet.value(reason)).Inc()
}

// ObserveStore records one session store call of op (Op* constants) that took d; failed
// says whether it counts as a store error (see InstrumentStore for which errors do).
func (m *Metrics) ObserveStore(op string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	op = m.opSet.value(op)
	m.storeDuration.WithLabelValues(op).Observe(d.Seconds())
	if failed {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}
