// Uploads with progress: XMLHttpRequest, because fetch() reports no upload
// progress. The body is the File itself, so the browser streams it from
// disk. Files over DIRECT_ABOVE go through the direct-upload flow
// (docs/files.md): a signed PUT URL, then complete; when that URL is on
// another origin (S3), which the console's Content-Security-Policy
// (connect-src 'self') forbids, they stream through the node instead.
import { api } from '../../core/api.js';
import { Problem } from '../../core/http.js';
import { current, fresh } from '../../core/session.js';

/** Files larger than this (bytes) use the direct-upload flow. */
export const DIRECT_ABOVE = 32 * 1024 * 1024;

/** encodeFolder percent-encodes a folder's segments, keeping its slashes (X-Folder). */
const encodeFolder = (folder) => folder.split('/').map(encodeURIComponent).join('/');

/** credentials are the session's Authorization and X-Org-ID headers (as core/api.js sends them). */
async function credentials() {
  await fresh();
  const s = current();
  const h = { Authorization: `Bearer ${s?.access ?? ''}` };
  if (s?.orgId) h['X-Org-ID'] = s.orgId;
  return h;
}

/**
 * send is one XMLHttpRequest with body, reporting onProgress(loaded, total)
 * as the body goes out; it resolves to the parsed JSON answer, or rejects
 * with a Problem as core/http.js does.
 */
function send(method, url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const p = data && typeof data === 'object' ? data : {};
      reject(new Problem({ status: xhr.status, title: p.title || xhr.statusText,
        detail: p.detail || `The server answered ${xhr.status} ${xhr.statusText}.`, errors: p.errors }));
    });
    const failed = () => reject(new Problem({ title: 'Network error', detail: 'The upload did not reach the server. Check the connection and try again.' }));
    xhr.addEventListener('error', failed);
    xhr.addEventListener('abort', failed);
    xhr.send(body);
  });
}

const contentType = (file) => file.type || 'application/octet-stream';

/** direct uploads file through a signed URL; it resolves to the file, or null when the URL is on another origin. */
async function direct(file, folder, onProgress) {
  const up = (await api('POST', '/files/uploads', {
    body: { name: file.name, size: file.size, content_type: contentType(file), folder },
  })).data;
  if (new URL(up.url, location.href).origin !== location.origin) return null;
  await send(up.method || 'PUT', up.url, file, up.headers || {}, onProgress);
  return (await api('POST', `/files/uploads/${encodeURIComponent(up.upload_id)}/complete`)).data;
}

/**
 * uploadFile stores file as a new file in folder of the chosen org and
 * resolves to it; onProgress(loaded, total) follows the bytes sent.
 */
export async function uploadFile(file, folder, onProgress) {
  if (file.size > DIRECT_ABOVE) {
    const done = await direct(file, folder, onProgress);
    if (done) return done;
  }
  return send('POST', '/files', file, {
    ...(await credentials()),
    'Content-Type': contentType(file),
    'X-File-Name': encodeURIComponent(file.name),
    'X-Folder': encodeFolder(folder || '/'),
  }, onProgress);
}

/**
 * uploadVersion stores file as the next version of the file id, provided
 * its revision is still revision (If-Match: a 412 otherwise), and resolves
 * to the file.
 */
export async function uploadVersion(id, revision, file, onProgress) {
  return send('PUT', `/files/${encodeURIComponent(id)}/content`, file, {
    ...(await credentials()),
    'Content-Type': contentType(file),
    'If-Match': `"${revision}"`,
  }, onProgress);
}
