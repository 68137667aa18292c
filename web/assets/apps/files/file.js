// #/files/{id}: a file's page, the one the sharing mails link to
// (<public_url>/#/files/{id}): its metadata and download link, its
// versions (each downloadable; a new one uploaded with If-Match), sharing
// (for managers), and the trash (move to it, restore from it).
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { href } from '../../core/router.js';
import { ConfirmButton, Failed, Loading, Page, ProblemAlert, Status, Table, Time, fmtBytes, useForm, useLoad } from '../../core/ui.js';
import { UploadForm } from './uploadform.js';
import { uploadVersion } from './upload.js';
import { ShareDialog } from './share.js';

const can = { read: 1, write: 2, manage: 3 };
const path = (id) => `/files/${encodeURIComponent(id)}`;

/** VersionLink asks for a signed URL of one version, then shows it as a download link. */
function VersionLink({ file, version }) {
  const [link, setLink] = useState(null);
  const { busy, problem, submit } = useForm();
  if (link) return html`<a href=${link.url} download=${file.name}>Download version ${version}</a>`;
  return html`<button type="button" class="secondary" disabled=${busy}
      onClick=${() => submit(async () => setLink((await api('GET', `${path(file.id)}/url`, { params: { version } })).data))}>
      Link to version ${version}</button>
    ${problem && html`<${ProblemAlert} problem=${problem} />`}`;
}

/** Versions lists a file's versions, newest first, and uploads a new one (write access). */
function Versions({ file, onChange }) {
  const versions = useLoad(() => api('GET', `${path(file.id)}/versions`, { params: { limit: 100 } }).then((r) => r.data), [file.id, file.version]);
  return html`<section aria-labelledby="versions-h">
    <div class="section-head"><h2 id="versions-h">Versions</h2></div>
    ${versions.loading && !versions.data && html`<${Loading} what="Loading the versions" />`}
    ${versions.error && html`<${Failed} problem=${versions.error} retry=${versions.reload} />`}
    ${versions.data && html`<${Table} caption="Versions" rows=${versions.data.items} rowKey=${(v) => v.version}
      columns=${[
        { label: 'Version', cell: (v) => v.version },
        { label: 'Size', cell: (v) => fmtBytes(v.size) },
        { label: 'Type', cell: (v) => v.content_type },
        { label: 'Made', cell: (v) => html`<${Time} value=${v.created_at} />` },
        { label: 'SHA-256', cell: (v) => html`<code class="clip" title=${v.sha256}>${v.sha256}</code>` },
        { label: 'Download', cell: (v) => html`<${VersionLink} key=${v.version} file=${file} version=${v.version} />` },
      ]} />`}
    ${can[file.access] >= can.write && !file.deleted_at && html`
      <h3>Upload a new version</h3>
      <p class="muted">It replaces version ${file.version} only if nobody changed the file since you opened it.</p>
      <${UploadForm} label="Upload a new version" fileLabel="New content" button="Upload new version"
        onSend=${(f, _folder, onProgress) => uploadVersion(file.id, file.revision, f, onProgress)} onDone=${onChange} />`}
  </section>`;
}

/** Trash moves the file to the trash, or restores it from there (manage access). */
function TrashActions({ file, onChange }) {
  const { busy, problem, submit } = useForm();
  const [done, setDone] = useState('');
  const run = (method, url, opts, said) => submit(async () => {
    await api(method, url, opts);
    setDone(said);
    onChange();
  });
  return html`<div class="buttons">
    ${file.deleted_at
      ? html`<button type="button" disabled=${busy}
          onClick=${() => run('POST', `${path(file.id)}/restore`, {}, `${file.name} is restored.`)}>Restore</button>`
      : html`<${ConfirmButton} label="Move to trash" question=${`Move ${file.name} to the trash?`} busy=${busy}
          onConfirm=${() => run('DELETE', path(file.id), { headers: { 'If-Match': `"${file.revision}"` } }, `${file.name} is in the trash.`)} />`}
    </div>
    <${ProblemAlert} problem=${problem} />
    ${done && html`<${Status}>${done}<//>`}`;
}

export function FileView({ params }) {
  const file = useLoad(async () => {
    const meta = (await api('GET', path(params.id))).data;
    const link = meta.deleted_at ? null : (await api('GET', `${path(params.id)}/url`)).data;
    return { meta, link };
  }, [params.id]);
  const f = file.data?.meta;
  const folderCrumb = f ? [{ label: f.folder, href: href('/files', { folder: f.folder }) }] : [];
  return html`<${Page} title=${f ? f.name : 'File'} crumbs=${[{ label: 'Files', href: '#/files' }, ...folderCrumb]}
      actions=${f && can[f.access] >= can.manage && html`<${ShareDialog} file=${f} />`}>
    ${file.loading && !f && html`<${Loading} what="Loading the file" />`}
    ${file.error && html`<${Failed} problem=${file.error} retry=${file.reload} />`}
    ${file.error?.status === 404 && html`<p>It may belong to another of your organizations: choose it in the header.</p>`}
    ${f && html`
      <dl class="props">
        <dt>Name</dt><dd>${f.name}</dd>
        <dt>Folder</dt><dd>${f.folder || '/'}</dd>
        <dt>Size</dt><dd>${fmtBytes(f.size)}</dd>
        <dt>Type</dt><dd>${f.content_type}</dd>
        <dt>Version</dt><dd>${f.version}</dd>
        <dt>Updated</dt><dd><${Time} value=${f.updated_at} /></dd>
        <dt>Your access</dt><dd>${f.access}</dd>
        <dt>SHA-256</dt><dd><code class="wrap">${f.sha256}</code></dd>
        ${f.deleted_at && html`<dt>In the trash since</dt><dd><${Time} value=${f.deleted_at} /></dd>`}
      </dl>
      ${file.data.link && html`<p><a class="button" href=${file.data.link.url} download=${f.name}>Download ${f.name}</a>
        <span class="muted"> (link valid until <${Time} value=${file.data.link.expires_at} />)</span></p>`}
      ${can[f.access] >= can.manage && html`<${TrashActions} file=${f} onChange=${file.reload} />`}
      <${Versions} file=${f} onChange=${file.reload} />`}
  <//>`;
}
