// Messaging: a room's live chat (history, then live messages, resumed
// without gap or duplicate after a dropped connection: chat.js).
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { Problem } from '../../core/http.js';
import { Failed, Input, Loading, Page, ProblemAlert, fmtTime, useLoad } from '../../core/ui.js';
import { useChat } from './chat.js';

/** The chat's state for people. */
const STATES = {
  connecting: 'Connecting…',
  live: 'Live.',
  reconnecting: 'Connection lost: reconnecting…',
  offline: 'Offline: the chat resumes when the network is back.',
  denied: 'You may not read this room: it does not exist, or your access was removed.',
  badauth: 'The chat refused your session\u2019s token. Sign in again.',
  closed: 'Closed.',
};

/** useRoom loads a room and its rules (GET /messaging/rooms/{id}). */
export function useRoom(id) {
  return useLoad(() => api('GET', `/messaging/rooms/${encodeURIComponent(id)}`).then((r) => r.data), [id]);
}

/** crumbs are a room view's breadcrumbs. */
export const crumbs = [{ label: 'Messaging', href: '#/messaging' }];

export function Room({ params, session }) {
  const room = useRoom(params.id);
  const name = room.data?.room.name;
  return html`<${Page} title=${name ? `Room: ${name}` : 'Room'} crumbs=${crumbs}
    actions=${html`<a href=${`#/messaging/${params.id}/members`}>Members and rules</a>`}>
    ${room.loading && !room.data && html`<${Loading} what="Loading the room" />`}
    ${room.error && html`<${Failed} problem=${room.error} retry=${room.reload} />`}
    ${room.data && html`<${ChatView} roomId=${room.data.room.id} me=${session.user.id} />`}
  <//>`;
}

function ChatView({ roomId, me }) {
  const chat = useChat(roomId, me);
  const [text, setText] = useState('');
  const end = useRef(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'nearest' }), [chat.messages.length]);
  const problem = chat.problem ? new Problem(chat.problem) : null;
  const contentError = problem?.errors.find((e) => e.location === 'content')?.message;
  const send = (e) => {
    e.preventDefault();
    if (chat.post(text)) setText('');
  };
  return html`<section aria-labelledby="chat-head">
    <h2 id="chat-head" class="visually-hidden">Chat</h2>
    <p role="status" class=${chat.state === 'live' ? 'muted' : 'badge'}>${STATES[chat.state]}</p>
    ${chat.messages.length === 0
      ? html`<p class="empty">${chat.state === 'live' ? 'No message yet: write the first.' : ''}</p>`
      : html`<ol class="card chat-log" aria-label="Messages">
        ${chat.messages.map((m) => html`<li key=${m.id} data-id=${m.id}>
          <strong>${m.emitter === me ? 'You' : html`<code title=${m.emitter}>${m.emitter.slice(0, 8)}</code>`}</strong>
          ${' '}<time class="muted" datetime=${m.created_at} title=${m.created_at}>${fmtTime(m.created_at)}</time>
          <p class="pre">${m.content}</p>
        </li>`)}
      </ol>`}
    <div ref=${end}></div>
    <form class="inline-form" novalidate onSubmit=${send}>
      <${ProblemAlert} problem=${problem} shown=${['content']} />
      <${Input} label="Message" value=${text} onValue=${setText} maxlength="4000" error=${contentError} autocomplete="off" />
      <button type="submit" disabled=${chat.state !== 'live'}>Send</button>
    </form>
  </section>`;
}
