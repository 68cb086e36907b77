// The dashboard's entry point: hash routes, sign-in guard, server health and sandbox banners.

import { session } from './api.js';
import { h, message } from './dom.js';
import * as job from './pages/job.js';
import * as jobs from './pages/jobs.js';
import * as login from './pages/login.js';
import * as study from './pages/study.js';
import * as studies from './pages/studies.js';
import * as upload from './pages/upload.js';
import * as watch from './pages/watch.js';
import * as watches from './pages/watches.js';

const ROUTES = [
  [/^#\/jobs\/(\d+)$/, job, 'jobs'],
  [/^#\/jobs$/, jobs, 'jobs'],
  [/^#\/studies\/(\d+)$/, study, 'studies'],
  [/^#\/studies$/, studies, 'studies'],
  [/^#\/watches\/(\d+)$/, watch, 'watches'],
  [/^#\/watches$/, watches, 'watches'],
  [/^#\/upload(?:\?(study))?$/, upload, 'upload'],
  [/^#\/login$/, login, null],
];
const HEALTH_EVERY = 30_000;
let shown = null;

function show() {
  shown?.abort();
  shown = new AbortController();
  const hash = location.hash || '#/jobs';
  const signedIn = Boolean(session.token());
  if (!signedIn && hash !== '#/login') {
    login.returnTo(hash);
    location.replace('#/login');
    return;
  }
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  const route = ROUTES.find(([pattern]) => pattern.test(hash));
  const main = document.getElementById('main');
  main.replaceChildren();
  window.scrollTo(0, 0);
  for (const link of document.querySelectorAll('#nav a[data-section]')) {
    link.classList.toggle('active', Boolean(route) && link.dataset.section === route[2]);
  }
  if (!route) {
    main.append(message(`There is no page ${hash.slice(1)}.`));
    return;
  }
  const signal = shown.signal;
  const params = hash.match(route[0]).slice(1);
  route[1].render(main, { params, signal }).catch((error) => {
    if (signal.aborted || error.name === 'AbortError' || error.status === 401) return;
    main.replaceChildren(message(error.message || String(error)));
  });
}

function banner(kind, title, text) {
  return h('div', { class: `banner banner-${kind}`, role: 'alert', 'data-testid': `banner-${kind}` }, h('strong', null, title), h('span', null, text));
}

/** Health and sandbox mode from /healthz (public): loud banners when fits run unconfined or cannot run. */
async function health() {
  let body = null;
  try {
    body = await (await fetch('/healthz', { cache: 'no-store' })).json();
  } catch {
    body = null;
  }
  const banners = [];
  const sandbox = body?.sandbox ?? 'unknown';
  if (!body) {
    banners.push(banner('warning', 'Server unreachable', 'The dashboard cannot reach the metagenx server; it retries every 30 s.'));
  } else if (sandbox === 'off') {
    banners.push(banner('danger', 'Sandbox off',
      'This server runs uploaded models WITHOUT the sandbox (--unsafe-no-sandbox). A model file is code that runs with the server’s rights: upload only files from people you trust.'));
  } else if (sandbox === 'unavailable') {
    banners.push(banner('danger', 'Sandbox unavailable',
      'The server requires the sandbox but cannot set it up: every fit fails until an administrator fixes it (see the server log).'));
  }
  if (body && body.status !== 'ok' && sandbox !== 'unavailable') {
    banners.push(banner('warning', 'Server degraded', `database: ${body.database}; controller: ${body.controller}`));
  }
  document.getElementById('banners').replaceChildren(...banners);
  const status = document.getElementById('server-status');
  status.textContent = body ? `server: ${body.status} · sandbox: ${sandbox}` : 'server: unreachable';
  status.dataset.sandbox = sandbox;
}

window.addEventListener('hashchange', show);
window.addEventListener('metagenx:signed-out', (event) => {
  if (location.hash === '#/login') return;
  login.returnTo(location.hash, `Please sign in again: ${event.detail}`);
  location.hash = '#/login';
});
document.getElementById('sign-out').addEventListener('click', () => {
  session.signOut();
  login.returnTo('#/jobs', 'Signed out.');
  location.hash = '#/login';
});
show();
health();
setInterval(health, HEALTH_EVERY);
