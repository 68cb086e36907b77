// The HTTP API under /api/v1: bearer token from sessionStorage, JSON errors as ApiError,
// downloads as blobs and Server-Sent Events read through fetch().
//
// Why fetch() for SSE: EventSource cannot send an Authorization header, and a token in a
// query string would end up in access logs and browser history. fetch() streams
// text/event-stream with the header like every other request; the server needs no change.

const KEY = 'metagenx.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  signIn: (token) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function headers(extra) {
  return { Authorization: `Bearer ${session.token() ?? ''}`, ...extra };
}

async function failure(response) {
  let detail = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') detail = body.detail;
  } catch {
    // not JSON: keep the status text
  }
  if (response.status === 401) {
    session.signOut();
    window.dispatchEvent(new CustomEvent('metagenx:signed-out', { detail }));
  }
  return new ApiError(response.status, detail);
}

/** GET (or `method`) a JSON route; `body` is sent as JSON, `form` as multipart. */
export async function api(path, { method = 'GET', body, form, signal } = {}) {
  const options = { method, signal, headers: headers() };
  if (form) options.body = form;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, options);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/** A protected file's bytes (e.g. a plot to show), fetched with the token. */
export async function fetchBlob(path, signal) {
  const response = await fetch(path, { headers: headers(), signal });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

/** Download a protected file: fetched with the token, then saved under `name`. */
export async function download(path, name) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Parse one SSE block ("event: x\ndata: {...}") into {kind, data, id}; null for comments only. */
function parseBlock(block) {
  let kind = 'message';
  let id = null;
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (!data.length) return null;
  return { kind, id, data: JSON.parse(data.join('\n')) };
}

/**
 * Follow an event stream until it ends (`end` event or closed), calling onEvent(kind, data).
 * Reconnects after a dropped connection (resuming from the last stored event) unless `signal`
 * is aborted; resolves when the server ends the stream.
 */
export async function follow(path, onEvent, signal) {
  let lastId = null;
  for (let attempt = 0; !signal.aborted; attempt += 1) {
    try {
      const extra = lastId ? { 'Last-Event-ID': lastId, Accept: 'text/event-stream' } : { Accept: 'text/event-stream' };
      const response = await fetch(path, { headers: headers(extra), signal });
      if (!response.ok) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream closed before its end');
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const event = parseBlock(buffer.slice(0, cut));
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
          if (!event) continue;
          if (event.id) lastId = event.id;
          attempt = 0;
          onEvent(event.kind, event.data);
          if (event.kind === 'end') return;
        }
      }
    } catch (error) {
      if (signal.aborted || (error instanceof ApiError && error.status < 500)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 15_000)));
    }
  }
}

/** An <img> of a protected image: fetched with the token, shown from a blob URL. */
export async function protectedImage(path, alt) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  const img = document.createElement('img');
  img.alt = alt;
  img.className = 'figure';
  img.src = URL.createObjectURL(await response.blob());
  img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
  return img;
}
