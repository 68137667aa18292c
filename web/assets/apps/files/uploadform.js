// UploadForm: a file input, an optional folder, a submit button and the
// upload's progress bar (the bytes sent, from XMLHttpRequest's upload
// progress events). The caller sends: onSend(file, folder, onProgress)
// resolves to the stored file.
import { html, useEffect, useId, useRef, useState } from '../../core/html.js';
import { Field, Input, ProblemAlert, Status, fmtBytes, useForm } from '../../core/ui.js';
import { Problem } from '../../core/http.js';

/** percent is the share of total sent, rounded down (an empty file is done at once). */
const percent = ({ loaded, total }) => (total > 0 ? Math.floor((loaded * 100) / total) : 100);

export function UploadForm({ label, fileLabel = 'File', button, folder, onSend, onDone }) {
  const [file, setFile] = useState(null);
  const [dest, setDest] = useState(folder ?? '');
  const [progress, setProgress] = useState(null);
  const [done, setDone] = useState('');
  const { busy, problem, submit } = useForm();
  const input = useRef(null);
  const barId = useId();
  useEffect(() => setDest(folder ?? ''), [folder]); // the folder opened since
  const headerErrors = problem ? problem.fieldErrors('header.') : {};
  const go = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    submit(async () => {
      if (!file) {
        throw new Problem({ title: 'No file', detail: 'Choose a file first.', errors: [{ location: 'file', message: 'Choose a file to upload.' }] });
      }
      setDone('');
      setProgress({ loaded: 0, total: file.size });
      const stored = await onSend(file, dest, (loaded, total) => setProgress({ loaded, total }));
      setDone(`Uploaded ${stored.name}: version ${stored.version}, ${fmtBytes(stored.size)}.`);
      setFile(null);
      if (input.current) input.current.value = '';
      onDone?.(stored);
    }, form);
  };
  const fileError = problem?.fieldErrors('')['file'] || headerErrors['X-File-Name'] || problem?.fieldErrors('body.')['size'];
  return html`<form class="upload" onSubmit=${go} novalidate aria-label=${label}>
    <${ProblemAlert} problem=${problem} shown=${['file', 'header.X-File-Name', 'header.X-Folder', 'body.size', 'body.folder']} />
    <div class="inline-form">
      <${Field} label=${fileLabel} required error=${fileError}
        control=${(a) => html`<input type="file" ...${a} ref=${input} onChange=${(e) => setFile(e.currentTarget.files[0] || null)} />`} />
      ${folder !== undefined && html`<${Input} label="Folder" value=${dest} onValue=${setDest} spellcheck="false"
        error=${headerErrors['X-Folder'] || problem?.fieldErrors('body.')['folder']} />`}
      <button type="submit" disabled=${busy}>${button}</button>
    </div>
    ${progress && html`<div class="field">
      <label for=${barId}>Upload progress</label>
      <progress id=${barId} max=${progress.total || 1} value=${progress.total ? progress.loaded : 1}>${percent(progress)} %</progress>
      <span class="muted"> ${percent(progress)} % (${fmtBytes(progress.loaded)} of ${fmtBytes(progress.total)})</span>
    </div>`}
    ${done && html`<${Status}>${done}<//>`}
  </form>`;
}
