import { createBffClient } from '/bff-client.js';

const bff = createBffClient();
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

async function callAPI() {
  const resp = await bff.fetch('/api/me');
  const body = await resp.json().catch(() => ({}));
  $('api-result').textContent = JSON.stringify(body, null, 2);
  $('api-result').dataset.status = String(resp.status);
  if (resp.ok && lastFingerprint && body.tokenFingerprint !== lastFingerprint) {
    show($('refreshed'), true); // a new access token, the same session
  }
  if (resp.ok) { lastExpiry = body.expiresAt; lastFingerprint = body.tokenFingerprint; }
  $('api-result').dataset.fingerprint = lastFingerprint || '';
}

function startStream() {
  $('stream').textContent = '';
  $('stream-stop').disabled = false;
  $('stream-start').disabled = true;
  stopStream = bff.stream('/api/clock', (ev) => {
    const lines = ($('stream').textContent + ev.data + '\n').split('\n').slice(-12);
    $('stream').textContent = lines.join('\n');
    $('stream').dataset.events = String(Number($('stream').dataset.events || 0) + 1);
  }, (err) => {
    $('stream').textContent += err ? `stream ended: ${err.message}\n` : 'stream closed\n';
    $('stream').dataset.closed = 'true';
    $('stream-stop').disabled = true;
    $('stream-start').disabled = false;
  });
}

bff.onSessionEnd(() => renderUser(null));
$('login').onclick = () => bff.login('/');
$('logout').onclick = () => { if (stopStream) stopStream(); bff.logout(); };
$('call').onclick = () => callAPI().catch((e) => { $('api-result').textContent = String(e); });
$('stream-start').onclick = startStream;
$('stream-stop').onclick = () => { if (stopStream) stopStream(); };
$('cookies').textContent = `document.cookie = ${JSON.stringify(document.cookie)}\n(the session cookie is HttpOnly: scripts cannot read it)`;

bff.session().then((user) => {
  renderUser(user);
  document.body.dataset.ready = 'true';
}).catch((e) => { $('user').textContent = String(e); document.body.dataset.ready = 'true'; });
