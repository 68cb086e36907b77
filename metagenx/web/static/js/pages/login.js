// Sign in with a bearer token; it is kept in sessionStorage (gone when the tab closes).

import { api, ApiError, session } from '../api.js';
import { h } from '../dom.js';

let after = '#/jobs';
let notice = null;

/** Where to go after signing in, and an optional note to show on the sign-in page. */
export function returnTo(hash, note = null) {
  after = hash && hash !== '#/login' ? hash : '#/jobs';
  notice = note;
}

export async function render(main) {
  const input = h('input', {
    type: 'password', id: 'token', name: 'token', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'mgx_…', required: true, 'data-testid': 'token-input',
  });
  const note = h('div', { class: notice?.startsWith('Signed out') ? 'form-message muted' : 'form-message error-text', role: 'alert' }, notice ?? '');
  notice = null;
  const button = h('button', { class: 'button primary', type: 'submit', 'data-testid': 'sign-in' }, 'Sign in');

  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    note.className = 'form-message error-text';
    note.textContent = '';
    session.signIn(input.value.trim());
    try {
      await api('/api/v1/jobs?limit=1');
      location.hash = after;
    } catch (error) {
      session.signOut();
      note.textContent = error instanceof ApiError && error.status === 401
        ? 'That token is not valid (unknown, mistyped or revoked).'
        : `Could not sign in: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  main.append(
    h('div', { class: 'login' },
      h('div', { class: 'card' },
        h('h1', null, 'Sign in'),
        h('p', null, 'Use the access token your administrator gave you.'),
        h('form', { class: 'form', onsubmit: submit },
          h('label', { class: 'field', for: 'token' }, 'Access token', input,
            h('span', { class: 'hint' }, 'An administrator creates one on the server with ', h('code', null, 'metagenx token create NAME'), '.')),
          note,
          h('div', null, button)))),
  );
  input.focus();
}
