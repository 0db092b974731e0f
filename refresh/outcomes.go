package refresh

// The outcomes Config.Observe is told, one per call to Fresh that reached a decision
// (bff_refreshes_total{outcome}). Package refresh owns them: a new outcome is a constant
// here and an entry in Outcomes, and TestObserveReportsOnlyListedOutcomes refuses an
// Observe call with anything else, so no outcome is ever counted as "other".
const (
	OutcomeOK           = "ok"            // the IdP issued new tokens and they were stored
	OutcomeInvalidGrant = "invalid_grant" // the IdP refused the refresh token: the session ends
	OutcomeTransient    = "transient"     // the IdP failed (network, 5xx, timeout): back-off begins
	OutcomeCoalesced    = "coalesced"     // another replica refreshed meanwhile; its tokens are used
	OutcomeStoreError   = "store_error"   // the store failed around the refresh
	OutcomeCooldown     = "cooldown"      // a forced refresh (upstream 401) declined: one happened within ForcedCooldown
	OutcomeBackoff      = "backoff"       // no IdP call: the session is in its back-off after IdP failures
	OutcomeEnded        = "ended"         // the IdP answered, but the session had ended meanwhile (logout): not written back
	// The IdP answered but the store did not take the new tokens: they are served from
	// this replica's memory and the save is retried (under the lock) for PendingWindow.
	OutcomeSavePending = "save_pending"
	OutcomeSaveLate    = "save_late" // a pending save succeeded
	// A pending save did not succeed within PendingWindow: the store keeps the spent
	// refresh token and the mark; the session survives only with a provider grace period.
	OutcomeSaveLost = "save_lost"
	// No IdP call: the record carries another attempt's redemption mark younger than
	// PendingWindow (its holder died or lost the store after the IdP may have answered).
	OutcomePendingElsewhere = "pending_elsewhere"
	// The provider refused a route's token (its resource, audience or scope: RFC 8707
	// invalid_target, a refused RFC 8693 exchange): the session is kept.
	OutcomeRefused = "refused"
)

// Outcomes lists every outcome Observe may report, for the metric's label set (a new
// slice on each call).
func Outcomes() []string {
	return []string{OutcomeOK, OutcomeInvalidGrant, OutcomeTransient, OutcomeCoalesced,
		OutcomeStoreError, OutcomeCooldown, OutcomeBackoff, OutcomeEnded,
		OutcomeSavePending, OutcomeSaveLate, OutcomeSaveLost, OutcomePendingElsewhere, OutcomeRefused}
}
