// The client the BFF serves (@tokenward/client, built from clients/js): no copy to keep in step.
import { createBffClient } from '/bff/client.js';
import { showSessions, watchSessionEvents, wireSessionButtons } from '/sessions.js';

// sessionEvents: the BFF's live session events, so that a logout in another tab or on
// another device, an expiring session and a refresh show here at once.
const bff = createBffClient({ sessionEvents: true });
const $ = (id) => document.getElementById(id);
let lastExpiry = null;
let lastFingerprint = null;
let stopStream = null;

function show(el, on) { el.hidden = !on; }

function renderUser(user) {
  show($('login'), !user);
  show($('logout'), !!user);
  $('call').disabled = !user;
  $('stream-start').disabled = !user;
  showSessions(bff, user);
  if (!user) {
    $('user').textContent = 'Not logged in.';
    return;
  }
  const c = user.claims || {};
  $('user').innerHTML = '';
  const dl = document.createElement('dl');
  for (const [k, v] of [['user', c.name || c.preferred_username || user.sub], ['email', c.email || '—'],
    ['subject', user.sub], ['session ends', new Date(user.session.expiresAt).toLocaleString()]]) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dd.id = 'user-' + k.replace(' ', '-');
    dl.append(dt, dd);
  }
  $('user').append(dl);
}

// The "token refreshed" badge describes the answer shown under it: this answer came with
// another access token than the previous one (the BFF refreshed it; the session is the
// same). So it is hidden while a call is under way and shown again only if the new answer
// carries a new token: the next call without a refresh clears it. (Not a timer: the
// answer stays on screen, and so does what the badge says about it.)
async function callAPI() {
  show($('refreshed'), false);
  try {
    const resp = await bff.fetch('/api/me');
    const body = await resp.json().catch(() => ({}));
    $('api-result').textContent = JSON.stringify(body, null, 2);
    $('api-result').dataset.status = String(resp.status);
    if (resp.ok && lastFingerprint && body.tokenFingerprint !== lastFingerprint) {
      show($('refreshed'), true); // a new access token, the same session
    }
    if (resp.ok) { lastExpiry = body.expiresAt; lastFingerprint = body.tokenFingerprint; }
    $('api-result').dataset.fingerprint = lastFingerprint || '';
  } finally {
    // Counts finished calls, refreshed or not, so that a test can wait for the next one.
    $('api-result').dataset.calls = String(Number($('api-result').dataset.calls || 0) + 1);
  }
}

const time = (iso) => new Date(iso).toLocaleTimeString();

// explainStreamToken says what the stream's events mean. A stream is one long request:
// it carries the access token the BFF injected when it opened, which the API checked then.
// After the BFF refreshes the session's token that one expires while the stream goes on,
// and the events say so (the API never counts below zero); new requests get the new token.
function explainStreamToken(tick, openedAt) {
  const note = $('stream-token');
  const opened = `This stream opened at ${openedAt.toLocaleTimeString()} with the access token of that moment`;
  if (!tick.tokenExpired) {
    note.textContent = `${opened}, which expires at ${time(tick.tokenExpiresAt)}.`;
  } else {
    let now = 'New requests, like Call API, carry the token the BFF refreshed';
    const last = lastExpiry && new Date(lastExpiry);
    if (last && last > new Date(tick.tokenExpiresAt)) {
      now += ` (the last call got one that ${last > new Date() ? 'expires' : 'expired'} at ${time(lastExpiry)})`;
    }
    note.textContent = `${opened}, which expired at ${time(tick.tokenExpiresAt)}. ` +
      `The API checked that token when the stream opened, so the stream goes on. ${now}.`;
  }
  note.dataset.expired = String(!!tick.tokenExpired);
  show(note, true);
}

// streamLine is one event as a short line that fits a phone; its title holds the event's
// data as the API sent it.
function streamLine(ev) {
  const line = document.createElement('span');
  line.title = ev.data;
  line.dataset.raw = ev.data;
  try {
    const tick = JSON.parse(ev.data);
    const left = tick.tokenExpired ? 'expired' : `${tick.tokenSecondsLeft} s left`;
    line.textContent = `${time(tick.time)}  stream token: ${left}\n`;
  } catch {
    line.textContent = ev.data + '\n'; // not a clock event: as it came
  }
  return line;
}

function startStream() {
  const openedAt = new Date();
  const out = $('stream');
  out.textContent = '';
  show($('stream-token'), false);
  $('stream-stop').disabled = false;
  $('stream-start').disabled = true;
  stopStream = bff.stream('/api/clock', (ev) => {
    out.append(streamLine(ev));
    while (out.childElementCount > 12) out.firstElementChild.remove();
    out.scrollTop = out.scrollHeight; // the newest event stays in sight
    out.dataset.events = String(Number(out.dataset.events || 0) + 1);
    try { explainStreamToken(JSON.parse(ev.data), openedAt); } catch { /* not a clock event */ }
  }, (err) => {
    out.append(err ? `stream ended: ${err.message}\n` : 'stream closed\n');
    out.dataset.closed = 'true';
    $('stream-stop').disabled = true;
    $('stream-start').disabled = false;
  });
}

function stopClock() { if (stopStream) stopStream(); }

// A session that ends (here, in another tab, on another device) stops the clock stream: its
// reconnect would answer 401 and send the page to log in, away from the banner that says why.
bff.onSessionEnd(stopClock);
bff.onUserChange(renderUser); // a login or a session end in any tab shows here
watchSessionEvents(bff);
wireSessionButtons(bff, stopClock);
$('login').onclick = () => bff.login('/');
$('logout').onclick = () => { stopClock(); bff.logout(); };
$('call').onclick = () => callAPI().catch((e) => { $('api-result').textContent = String(e); });
$('stream-start').onclick = startStream;
$('stream-stop').onclick = () => { if (stopStream) stopStream(); };
$('cookies').textContent = `document.cookie = ${JSON.stringify(document.cookie)}\n(the session cookie is HttpOnly: scripts cannot read it)`;

// onUserChange renders the answer (and every later change).
bff.session().then(() => {
  document.body.dataset.ready = 'true';
}).catch((e) => { $('user').textContent = String(e); document.body.dataset.ready = 'true'; });
