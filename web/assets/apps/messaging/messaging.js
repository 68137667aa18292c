// The messaging app's console views: the rooms (create one, answer
// invitations), a room's live chat, and its members and rules. Every call
// is the public API of docs/messaging.md: REST with the session's bearer
// token and org, the chat over GET /messaging/chat with the same token.
import { Rooms } from './rooms.js';
import { Room } from './room.js';
import { Members } from './members.js';

export default {
  id: 'messaging',
  title: 'Messaging',
  description: 'Rooms, live chat with history, members and their rules.',
  audience: 'user',
  // Invited users need no organization (a user rule is enough); creating
  // a room needs one, and the server says so.
  needsOrg: false,
  routes: [
    { path: '/messaging', view: Rooms },
    { path: '/messaging/:id', view: Room },
    { path: '/messaging/:id/members', view: Members },
  ],
};
