// The file lists: the org's files folder by folder (with uploads), the
// files shared with the user, and the trash (restore, delete for good).
// Folders are paths on files (docs/files.md): a folder exists while a file
// is in it, and the subfolders shown are those of the first 500 files.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { href, navigate } from '../../core/router.js';
import { ConfirmButton, Failed, Input, Loading, Page, Pager, ProblemAlert, Status, Table, Time, fmtBytes, useForm, useLoad } from '../../core/ui.js';
import { UploadForm } from './uploadform.js';
import { uploadFile } from './upload.js';

/** Tabs links the three lists; here is the current one's route. */
function Tabs({ here }) {
  const tabs = [['/files', 'My files'], ['/files/shared', 'Shared with me'], ['/files/trash', 'Trash']];
  return html`<nav aria-label="File lists" class="switch">
    ${tabs.map(([path, label]) => html`<a class=${here === path ? 'button' : 'button secondary'} href=${href(path)}
      aria-current=${here === path ? 'page' : undefined}>${label}</a>`)}
  </nav>`;
}

/** cleanFolder is folder as the API keeps it: leading slash, no trailing one. */
export function cleanFolder(folder) {
  return `/${(folder || '').split('/').filter(Boolean).join('/')}`;
}

/** subfolders are the names of folder's immediate subfolders among the files' folders. */
function subfolders(files, folder) {
  const prefix = folder === '/' ? '/' : `${folder}/`;
  const out = new Set();
  for (const f of files) {
    if (f.folder.startsWith(prefix) && f.folder !== folder) out.add(f.folder.slice(prefix.length).split('/')[0]);
  }
  return [...out].sort((a, b) => a.localeCompare(b));
}

/** FolderPath links to folder and each of its parents. */
function FolderPath({ folder }) {
  const parts = folder.split('/').filter(Boolean);
  const at = (i) => `/${parts.slice(0, i).join('/')}`;
  return html`<nav aria-label="Folder" class="crumbs"><ol>
    <li><a href=${href('/files', { folder: '/' })} aria-current=${parts.length === 0 ? 'page' : undefined}>All files</a></li>
    ${parts.map((p, i) => html`<li><a href=${href('/files', { folder: at(i + 1) })}
      aria-current=${i === parts.length - 1 ? 'page' : undefined}>${p}</a></li>`)}
  </ol></nav>`;
}

const nameCell = (f) => html`<a href=${href(`/files/${encodeURIComponent(f.id)}`)}>${f.name}</a>`;
const columns = [
  { label: 'Name', cell: nameCell },
  { label: 'Size', cell: (f) => fmtBytes(f.size) },
  { label: 'Type', cell: (f) => f.content_type },
  { label: 'Version', cell: (f) => f.version },
  { label: 'Updated', cell: (f) => html`<${Time} value=${f.updated_at} />` },
];

/** OpenFolder goes to a folder typed by hand (a new one: upload into it). */
function OpenFolder({ folder }) {
  const [to, setTo] = useState(folder);
  const go = (e) => {
    e.preventDefault();
    navigate('/files', { folder: cleanFolder(to) });
  };
  return html`<form class="inline-form" onSubmit=${go} aria-label="Open a folder">
    <${Input} label="Open folder" value=${to} onValue=${setTo} spellcheck="false" hint="A path such as /reports/2026." />
    <button type="submit" class="secondary">Open</button>
  </form>`;
}

/** Browser is #/files?folder=: a folder's subfolders and files, and an upload form. */
export function Browser({ query }) {
  const folder = cleanFolder(query.get('folder') || '/');
  const cursor = query.get('cursor') || '';
  const list = useLoad(async () => {
    const [files, all] = await Promise.all([
      api('GET', '/files', { params: { folder, cursor, limit: 50 } }),
      api('GET', '/files', { params: { limit: 500 } }),
    ]);
    return { files: files.data, folders: subfolders(all.data.items, folder) };
  }, [folder, cursor]);
  const onDone = (f) => (cleanFolder(f.folder) === folder ? list.reload() : navigate('/files', { folder: f.folder }));
  return html`<${Page} title="Files">
    <${Tabs} here="/files" />
    <${FolderPath} folder=${folder} />
    <section aria-labelledby="upload-h">
      <h2 id="upload-h">Upload</h2>
      <${UploadForm} label="Upload a file" button="Upload" folder=${folder}
        onSend=${uploadFile} onDone=${onDone} />
    </section>
    <${OpenFolder} key=${folder} folder=${folder} />
    ${list.loading && !list.data && html`<${Loading} what="Loading the folder" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`
      ${list.data.folders.length > 0 && html`<h2>Folders</h2>
        <ul class="folders">${list.data.folders.map((name) => html`<li>
          <a href=${href('/files', { folder: cleanFolder(`${folder}/${name}`) })}>${name}/</a></li>`)}</ul>`}
      <h2>Files in ${folder}</h2>
      <${Table} caption=${`Files in ${folder}`} rows=${list.data.files.items} columns=${columns}
        empty="No file in this folder." />
      <${Pager} path="/files" query=${query} next=${list.data.files.next_cursor} />`}
  <//>`;
}

/** Shared is #/files/shared: the files others shared with the user, in every org. */
export function Shared({ query }) {
  const cursor = query.get('cursor') || '';
  const list = useLoad(() => api('GET', '/files', { params: { shared_with_me: true, cursor, limit: 50 } }).then((r) => r.data), [cursor]);
  return html`<${Page} title="Shared with me">
    <${Tabs} here="/files/shared" />
    ${list.loading && !list.data && html`<${Loading} what="Loading the shared files" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`
      <${Table} caption="Files shared with me" rows=${list.data.items} empty="Nobody shared a file with you yet."
        columns=${[
          { label: 'Name', cell: nameCell },
          { label: 'Folder', cell: (f) => f.folder },
          { label: 'Size', cell: (f) => fmtBytes(f.size) },
          { label: 'Your access', cell: (f) => f.access },
          { label: 'Updated', cell: (f) => html`<${Time} value=${f.updated_at} />` },
        ]} />
      <${Pager} path="/files/shared" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}

/** Trash is #/files/trash: the trashed files the user manages; restore or delete for good. */
export function Trash({ query }) {
  const cursor = query.get('cursor') || '';
  const list = useLoad(() => api('GET', '/files', { params: { trashed: true, cursor, limit: 50 } }).then((r) => r.data), [cursor]);
  const { busy, problem, submit } = useForm();
  const [done, setDone] = useState('');
  const act = (method, path, said) => submit(async () => {
    setDone('');
    await api(method, path);
    setDone(said);
    list.reload();
  });
  const id = (f) => encodeURIComponent(f.id);
  return html`<${Page} title="Trash">
    <${Tabs} here="/files/trash" />
    <p class="muted">Files stay here 30 days, then they are deleted for good.</p>
    <${ProblemAlert} problem=${problem} />
    ${done && html`<${Status}>${done}<//>`}
    ${list.loading && !list.data && html`<${Loading} what="Loading the trash" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`
      <${Table} caption="Files in the trash" rows=${list.data.items} empty="The trash is empty."
        columns=${[
          { label: 'Name', cell: nameCell },
          { label: 'Folder', cell: (f) => f.folder },
          { label: 'Size', cell: (f) => fmtBytes(f.size) },
          { label: 'Trashed', cell: (f) => html`<${Time} value=${f.deleted_at} />` },
          { label: 'Actions', cell: (f) => html`<span class="row-actions">
            <button type="button" class="secondary" disabled=${busy} aria-label=${`Restore ${f.name}`}
              onClick=${() => act('POST', `/files/${id(f)}/restore`, `${f.name} is restored to ${f.folder}.`)}>Restore</button>
            <${ConfirmButton} label="Delete for good" question=${`Delete ${f.name} and all its versions for good?`} busy=${busy}
              onConfirm=${() => act('DELETE', `/files/${id(f)}?permanent=true`, `${f.name} is deleted for good.`)} />
          </span>` },
        ]} />
      <${Pager} path="/files/trash" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}
