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
)

// Outcomes lists every outcome Observe may report, for the metric's label set (a new
// slice on each call).
func Outcomes() []string {
	return []string{OutcomeOK, OutcomeInvalidGrant, OutcomeTransient, OutcomeCoalesced,
		OutcomeStoreError, OutcomeCooldown, OutcomeBackoff, OutcomeEnded}
}
