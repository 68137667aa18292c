// The console's apps, in header order: one descriptor each (see
// core/shell.js for the shape). Adding an app's views is a new module under
// apps/ and its line here; nothing in core/ changes.
import files from './files/files.js';
import records from './records/records.js';
import admin from './admin/admin.js';
import messaging from './messaging/messaging.js';
import restaurants from './restaurants/restaurants.js';
import scheduling from './scheduling/scheduling.js';

export default [
  messaging,
  restaurants,
  scheduling,
  files,
  records,
  admin,
];
