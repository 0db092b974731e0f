// Package session keeps the BFF's logged-in sessions: the browser holds only a sealed
// random id, the tokens stay server-side, sealed at rest, in Redis (single node,
// Sentinel or Cluster) or in an embedded miniredis that runs the very same code.
//
// # The flow
//
// At login the handler calls NewID (256 random bits), saves the Record with
// Store.Save and sets the session cookie to CookieCodec.Encode(name, id). On every
// request it decodes the cookie (CookieCodec.Decode) and loads the record with
// Store.Get, which also slides the idle expiry, in one round trip. Refreshes are
// serialised across replicas by Store.Lock (see "The refresh lock"). Logout deletes
// the record (Store.Delete); back-channel logout and "log out everywhere" delete by
// IdP session id or subject (Store.DeleteBySID, Store.DeleteBySubject), which return
// the IDHash of every session they ended so live streams can be cut.
//
// # Keys
//
// ParseKeys reads the configured keys (standard base64 of 32 random bytes, newest
// first; NewKey makes one). From each key HKDF-SHA256 derives, under distinct labels,
// a cookie HMAC key, a cookie AES key, an at-rest sealing key, an index-naming key and
// a public 4-byte key id. The newest key seals and encodes; every key opens and
// decodes. To rotate: put a new key in front and keep the old one at least one
// absolute session timeout (and one login timeout: pending logins are sealed too);
// then drop it. Records sealed by a dropped key no longer open (Get reports
// ErrNotFound); a record is re-sealed with the newest key whenever it is saved (e.g.
// at each refresh).
//
// # What the cookie holds
//
// Only the session id, serialised as JSON and sealed by gorilla/securecookie:
// AES-256-CTR, then HMAC-SHA256 over the cookie name, a timestamp and the ciphertext.
// A typical session cookie value is 172 bytes. Decode refuses values over 4096 bytes
// and values not in canonical base64url before any cryptographic work, so each
// issued value has exactly one accepted spelling; its errors never quote the value.
//
// # What Redis holds, and why a dump reveals nothing
//
//	<prefix>s:<IDHash(id)>      hash {v: sealed record, a: absolute expiry (Unix ms),
//	                            i: names of its index sets, c: index coverage (Unix ms)}
//	<prefix>ix:sid:<HMAC(sid)>  sorted set of IDHash of the records of one IdP session,
//	                            each scored by its coverage (see Indexes)
//	<prefix>ix:sub:<HMAC(sub)>  the same for the records of one subject
//	<prefix>sid:<HMAC(sid)>     plain sets of the previous release (same members, no
//	<prefix>sub:<HMAC(sub)>     scores): still written for its replicas (see Indexes)
//	<prefix>lock:<IDHash(id)>   refresh lock: a random token, with the lease as TTL
//	<prefix>once:<SHA-256(key)> replay marker of Store.Once (logout-token jti)
//	<prefix>login:<IDHash(key)> hash {b: IDHash(binding), v: a pending login} (Store.
//	                            PutLogin, keyed by the OAuth state), v sealed like a record
//	                            with "login:"+IDHash(key) as additional data, taken once
//	                            and only with its binding (Store.TakeLogin)
//	<prefix>unlock:<IDHash(id)> pub/sub channel (not a key) that Release publishes on
//
// A record is sealed with AES-256-GCM (random 96-bit nonce) as
// version | key id | nonce | ciphertext+tag, with the header and the IDHash as
// additional data: it cannot be altered, nor copied under another id, nor relabelled
// with another key. The id itself is never stored: IDHash is SHA-256 of 256 random
// bits, which cannot be turned back into a usable cookie (and the cookie also needs
// the cookie keys). The index names are HMACs under a key derived from the session
// keys, not plain hashes, so a dump cannot even confirm that a guessed subject (an
// e-mail, an employee number) has a session. What a dump shows: how many sessions
// exist, when each expires, and which ones share a subject or an IdP session.
//
// # Lifetimes
//
// A record lives min(IdleTimeout, AbsoluteExpiry - now), and never past its index
// coverage (see Indexes). Store.Get runs one Lua script that reads the sealed value
// and its absolute expiry, deletes the record if that expiry (or its coverage) has
// passed, else sets the TTL to min(idle, absolute - now, coverage - now) and returns
// the value. "now" is sent by the client from Options.Now, so the injected clock
// governs absolute expiry; the sealed copy of the expiry is checked again after
// opening. Save writes the value, the expiry and the TTL atomically, and refuses
// sealed records over MaxSealedRecord; Get checks the size inside Redis and never
// transfers an oversized value.
//
// # Indexes
//
// The sid and subject indexes are sorted sets (under the newest key's HMAC), scored by
// each member's coverage: a time until which the set is known to hold it. The record
// keeps the names of its index sets (i) and its coverage (c), and never outlives it
// (TTL capped at c - now; Get and Touch delete it past c). So a member whose score has
// passed names a record that is gone: every write to a set prunes those
// (ZREMRANGEBYSCORE) and sets the set's TTL to its highest score, and an ended
// session's entries go with it. Delete deletes the record and returns its index names
// in one script, then removes it from those sets; DeleteBySID, DeleteBySubject and
// DeleteBySIDAndSubject do the same for each record they delete, so each also cleans
// the other index. A session that idles out or reaches its absolute expiry leaves its
// entries until its coverage passes: at most one idle timeout later.
//
// Save covers a record for two idle timeouts (never past its absolute expiry). Get and
// Touch cannot extend the coverage in their one round trip (the sets are on other
// Cluster slots); when less than one and a half idle timeouts are left, the script
// also returns the index names and the caller extends the coverage, sets first and
// record after, so the record's coverage never runs ahead of its entries: two more
// round trips once per half idle timeout of use. The half idle timeout between a
// record's TTL and its coverage absorbs a failed extension (the next Get tries again)
// and replica clocks that disagree by less. Update keeps the stored coverage. A
// record re-saved under a new key after a rotation keeps the index names of both keys.
//
// DeleteBySID and DeleteBySubject read an index in batches of 256 (every read
// bounded), delete the records, and only then remove the members, under every ring
// key, so records indexed before a rotation are found. They return only the records
// they deleted, not members whose record had already gone, so an ended session is
// counted once, however many logouts name it. DeleteBySIDAndSubject scans the sid
// index (ZSCAN, same batches) and deletes only the members the subject's index also
// holds, leaving the others in place. A Save racing with a DeleteBy* of the same
// subject may survive it: the record and its index live on different Cluster slots and
// are not written together.
//
// The previous release keeps plain sets under <prefix>sid: and <prefix>sub:, with a
// TTL of the newest member's absolute expiry, and records without i and c, and its
// DeleteBy* read only those sets. So that its replicas still end every session by
// back-channel logout or "log out everywhere" while a rolling update runs, or after a
// rollback to it, this release ALSO writes them exactly as that release does (SADD,
// TTL extended to the absolute expiry), in the same pipeline as the sorted sets; Delete
// and every DeleteBy* take an ended session out of both kinds (SREM beside ZREM), and
// every DeleteBy* reads and drains both. Until the next release stops writing them, the
// plain sets of sessions that expire keep their members until the absolute expiry, as
// the previous release's did. A record that release wrote gets i and c at its next
// Update (a refresh).
//
// # The refresh lock
//
// Lock sets <prefix>lock:<IDHash> to a random token with SET NX PX, or returns
// ErrLockHeld at once. The holder Renews the lease while its IdP call runs (compare-
// and-set: only with its own token) and Releases it (compare-and-delete, then
// PUBLISH on the lock's channel). Renew or Release by a holder whose lease expired
// returns ErrLockLost and touches nothing: the next holder's lease is safe. Losers
// call WaitUnlock, which subscribes to the channel (woken at once by Release) and
// also re-checks the lock key on a backoff from 200ms to 2s (a crashed holder's lease
// just expires, publishing nothing), returning when the key is gone or the caller's
// ctx ends; then they re-read the session. There is no busy polling.
//
// # Redis deployments (Options.URL)
//
//	redis://[user:password@]host[:port][/db][?option=value...]      one node
//	rediss://...                                                     one node over TLS
//	unix:///path/to/redis.sock[?db=N]                                one node, Unix socket
//	redis+sentinel://[user:password@]sentinel[:26379][/db]?master_name=NAME[&addr=sentinel2:26379...]
//	rediss+sentinel://...                                            Sentinel, TLS to every node
//	redis+cluster://[user:password@]node[:port][?addr=node2:port...]
//	rediss+cluster://...                                             Cluster over TLS
//
// A plain redis:// or rediss:// URL with master_name= is also read as Sentinel, and
// one with addr= (and no master_name) as Cluster. The query options are go-redis's
// (redis.ParseURL, redis.ParseFailoverURL, redis.ParseClusterURL: snake_case option
// names such as dial_timeout, max_retries, client_name, pool_size; unknown ones are
// errors). For Sentinel, userinfo authenticates to the sentinels and, unless the
// query's username=/password= give the data nodes' own, to the data nodes too.
// skip_verify=true turns off TLS certificate checks: it MUST NOT be used in
// production. Whatever the URL says, dial, read, write and pool timeouts are at most
// OpTimeout, retries default to one, and context deadlines reach the sockets, so a
// dead or silent Redis fails within OpTimeout (default 1s) rather than hanging.
//
// On Cluster, every script touches exactly one key, and operations over several keys
// (Save, DeleteBy*) are pipelines of single-key commands that the cluster client
// splits by slot. Release's PUBLISH reaches every node's subscribers.
//
// On Sentinel, go-redis moves its command connections to a new master at once but leaves
// a subscription where it is; on the demoted master it hears nothing until the sentinels
// make that node a replica (10 to 20 s, or never while it is partitioned away). So
// Watch publishes a probe on its channel every second and subscribes again when the
// probe does not come back before the next one: after a failover the replicas hear
// ended-session announcements again within about 2 s.
//
// # Failures
//
// Every failure to reach or use the backend wraps ErrUnavailable (answer 503). When
// the caller's ctx ended the operation, the error also wraps ctx.Err(), so
// errors.Is(err, context.Canceled) tells a client that went away; OpTimeout expiring
// does not look like the caller's deadline. A record that exists but cannot be
// opened (tampered, moved, retired key, oversized) wraps both ErrNotFound and
// ErrUnreadable, and also ErrRecordForged (AES-GCM authentication failed: altered, or
// moved under another id) or ErrRecordKeyUnknown (sealed by a key not in the ring), so
// that the caller can tell an attack on the store from a key retirement. No error string contains an id, a token, a subject, a cookie value
// or a password.
//
// # The embedded store
//
// NewEmbedded runs miniredis in process on a random loopback port behind a random
// password and returns the same store over it: same scripts, same pub/sub. miniredis
// expires keys only when told that time passed, so a ticker advances it by the real
// elapsed time every second (FastForward and SetTime), which expires TTLs (up to one
// tick late) and frees their memory; Close stops the ticker and the server. Sessions
// are lost on restart and not shared between replicas.
//
// # Concurrency
//
// KeyRing, CookieCodec, the stores and their Locks are safe for concurrent use by any
// number of goroutines; the stores also across replicas.
package session
