// The "Your sessions" panel and the live-event banner: what the BFF's session API
// (GET/DELETE /bff/sessions, sign out everywhere) and its live session events (the
// client's sessionEvents option) look like to a user. Plain DOM: every text goes in with
// textContent, every handler with addEventListener (nothing inline).

const $ = (id) => document.getElementById(id);
// when is a time of the list to the minute, which is all lastUsedAt holds.
const when = (ms) => (Number.isNaN(ms) ? '—' : new Date(ms).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' }));

let countdown = null; // the interval that counts the "expires in" banner down
let loads = 0; // the latest list request: an older answer that comes late is dropped

function stopCountdown() {
  if (countdown) clearInterval(countdown);
  countdown = null;
}

// setBanner shows one message in the banner (an aria-live region that is always in the
// page, so that screen readers announce what appears in it), or clears it (kind '').
function setBanner(kind, ...parts) {
  stopCountdown();
  const banner = $('banner');
  banner.dataset.kind = kind;
  delete banner.dataset.reason;
  banner.replaceChildren(...parts);
}

function span(id, text) {
  const s = document.createElement('span');
  if (id) s.id = id;
  s.textContent = text;
  return s;
}

function button(id, label, run) {
  const b = document.createElement('button');
  b.type = 'button';
  if (id) b.id = id;
  b.textContent = label;
  b.addEventListener('click', run);
  return b;
}

// signedOutText says why the session ended, from the client's session-end problem: a live
// "ended" event names its reason; a message from another tab or a 401 does not.
function signedOutText(problem) {
  if (problem.reason === 'expired' || problem.type === 'session_expired') return 'Your session expired. Log in again to go on.';
  return 'Signed out in another tab or device.';
}

// showExpiring counts down to the session's end. The ticking number is hidden from screen
// readers (a live region that changes every second would talk without pause); they hear
// the end time once. At zero the banner goes: the stream says "ended" if the session did,
// and another tab's activity may have kept it alive (then it warns again later).
function showExpiring(bff, data) {
  const at = new Date(data.at);
  if (Number.isNaN(at.getTime())) return;
  const text = span('banner-text', '');
  text.setAttribute('aria-hidden', 'true');
  const parts = [span('', `Your session expires at ${at.toLocaleTimeString()}.`), text];
  parts[0].className = 'sr-only';
  if (data.which === 'idle') {
    // A real request slides the idle timeout; the open event stream never does.
    parts.push(button('stay', 'Stay signed in', () => bff.user().then(() => setBanner('')).catch(() => {})));
  }
  setBanner('expiring', ...parts);
  const tick = () => {
    const left = Math.round((at.getTime() - Date.now()) / 1000);
    if (left <= 0) {
      setBanner('');
      return;
    }
    text.textContent = `Your session expires in ${left} s.`;
  };
  tick();
  if ($('banner').dataset.kind === 'expiring') countdown = setInterval(tick, 1000);
}

// showRefreshed marks that the BFF refreshed the session's access token (on any replica,
// for any tab): the page never sees the token, only that it changed and when.
function showRefreshed(data) {
  const badge = $('live-refreshed');
  const at = new Date(data.accessTokenExpiresAt);
  badge.textContent = `token refreshed ${new Date().toLocaleTimeString()}`;
  badge.title = Number.isNaN(at.getTime()) ? 'The BFF refreshed the access token'
    : `The BFF refreshed the access token; the new one expires at ${at.toLocaleTimeString()}`;
  badge.dataset.count = String(Number(badge.dataset.count || 0) + 1);
  badge.hidden = false;
}

// watchSessionEvents wires the banner to the client's live session events and session ends.
export function watchSessionEvents(bff) {
  bff.onSessionEvent((ev) => {
    if (ev.event === 'expiring') showExpiring(bff, ev.data);
    else if (ev.event === 'refreshed') showRefreshed(ev.data);
  });
  bff.onSessionEnd((problem) => {
    // This tab's own logout navigates to the IdP at once: nothing to say here.
    if (problem.type === 'logout') return;
    setBanner('ended', span('banner-text', signedOutText(problem)));
    // The live event's reason (logout, expired, ended-elsewhere, …), for a closer look.
    if (problem.reason) $('banner').dataset.reason = problem.reason;
  });
}

// sessionItem is one row of the list; only another session gets an "End" button.
function sessionItem(bff, s) {
  const li = document.createElement('li');
  li.dataset.current = String(!!s.current);
  const head = document.createElement('div');
  const device = document.createElement('strong');
  device.textContent = s.device || 'Unknown device';
  head.append(device);
  if (s.current) {
    const mark = span('', 'this device');
    mark.className = 'badge muted';
    head.append(' ', mark);
  }
  // lastUsedAt is rounded down to the minute: never show it before the sign-in.
  const created = Date.parse(s.createdAt);
  const times = span('', `signed in ${when(created)} · last used ${when(Math.max(created, Date.parse(s.lastUsedAt)))}`);
  times.className = 'when';
  li.append(head, times);
  if (!s.current) {
    const end = button('', 'End', async () => {
      end.disabled = true;
      try {
        await bff.endSession(s.handle);
      } catch (err) {
        showListError(err);
      }
      await loadSessions(bff);
    });
    end.className = 'end';
    end.setAttribute('aria-label', `End the session on ${device.textContent}, signed in ${when(created)}`);
    li.append(end);
  }
  return li;
}

function showListError(err) {
  const note = $('sessions-note');
  note.textContent = `Could not load or end a session: ${err.message || err}`;
  note.hidden = false;
}

// loadSessions fills the list from GET /bff/sessions. data-loads counts finished loads so
// that a test can wait for the next one.
export async function loadSessions(bff) {
  const mine = ++loads;
  const list = $('sessions');
  try {
    const sessions = await bff.sessions();
    if (mine !== loads) return;
    $('sessions-note').hidden = true;
    list.replaceChildren(...sessions.map((s) => sessionItem(bff, s)));
  } catch (err) {
    if (mine === loads) showListError(err);
  } finally {
    if (mine === loads) list.dataset.loads = String(Number(list.dataset.loads || 0) + 1);
  }
}

// showSessions shows the panel for a user (and clears any "signed out" banner) or hides it.
export function showSessions(bff, user) {
  $('sessions-card').hidden = !user;
  if (!user) {
    $('sessions').replaceChildren();
    stopCountdown();
    if ($('banner').dataset.kind === 'expiring') setBanner('');
    return;
  }
  if ($('banner').dataset.kind === 'ended') setBanner('');
  loadSessions(bff);
}

// wireSessionButtons: "Refresh list" and "Sign out everywhere" (every session of the user
// at this BFF, on every device; this tab then goes through the IdP's logout like Log out).
export function wireSessionButtons(bff, beforeLogout) {
  $('sessions-reload').addEventListener('click', () => loadSessions(bff));
  $('logout-everywhere').addEventListener('click', () => {
    beforeLogout();
    bff.logout({ everywhere: true });
  });
}
